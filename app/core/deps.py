"""Request-scoped dependencies shared by every domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.state import AppState
from app.core.uow import open_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ongi
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request. ``scope="function"`` below makes FastAPI run the commit after the
    endpoint returns and before the response is sent, so a failed commit is never answered as success."""
    state: AppState = request.app.state.ongi
    async with open_session(state.sessionmaker, write=request.method not in SAFE_METHODS) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session that starts as a read whatever the method; the code calls ``begin_write`` before writing
    (for work that must not hold the write lock, such as verifying a password)."""
    state: AppState = request.app.state.ongi
    async with open_session(state.sessionmaker, write=False) as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None
