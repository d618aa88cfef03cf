"""The built-in osquery tables, by name."""

from __future__ import annotations

from collectors.osquery.tables.accounts import GroupsTable, UsersTable
from collectors.osquery.tables.clock import TimeTable
from collectors.osquery.tables.file import FileTable, HashTable
from collectors.osquery.tables.maintainer import MaintainerScriptsTable
from collectors.osquery.tables.packages import DebPackageFilesTable, DebPackagesTable, RpmPackagesTable
from collectors.osquery.tables.persistence import (
    AuthorizedKeysTable,
    CrontabTable,
    SuidBinTable,
    SystemdUnitsTable,
)
from collectors.osquery.tables.processes import ProcessesTable

TABLES = (
    FileTable, HashTable, UsersTable, GroupsTable, ProcessesTable,
    DebPackagesTable, DebPackageFilesTable, RpmPackagesTable,
    CrontabTable, AuthorizedKeysTable, SuidBinTable, SystemdUnitsTable,
    MaintainerScriptsTable, TimeTable,
)

__all__ = ["TABLES"]
