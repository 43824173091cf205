"""Ongi (온기): the field-visit backend for welfare home visits."""
