"""Ledger commands: submit, flows, tasks, audit, maintenance (issue 2)."""

from __future__ import annotations
