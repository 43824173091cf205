"""A reference client for Ongi's sync protocol (docs/sync.md), written the way the phone app works.

See :class:`ongi_client.sync.SyncClient` and docs/sync.md.
"""

from ongi_client.sync import DeviceWiped, SyncClient, SyncReport

__all__ = ["DeviceWiped", "SyncClient", "SyncReport"]
