"""The station's data folders: private (0700) from the first write, and refused with one plain
line when the configured path cannot be a data folder (a file, a kernel folder, no permission).

Every writer of the data folder (the record store, the log, provisioning, the accounts file)
creates its folder through :func:`private_folder`, so whichever command runs first on a new
station - even before ``kiosk init`` - leaves nothing readable by other users.
"""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.errors import InputError, KioskError

#: kernel and device folders: nothing the kiosk keeps may live there
SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


class DataFolderError(KioskError):
    code = "config.data_dir_unusable"


def private_folder(path: Path) -> Path:
    """Create ``path`` and every missing parent with mode 0700; return it.

    A file in the way or a folder under /proc, /sys or /dev is an :class:`InputError` (exit 2);
    any other OS refusal a :class:`DataFolderError` naming the folder and the OS's reason."""
    path = Path(path)
    resolved = path.resolve()
    for system in SYSTEM_FOLDERS:
        if resolved == system or system in resolved.parents:
            raise InputError("config.data_dir_system", path=str(path), system=str(system))
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError("config.data_dir_file", path=str(probe))
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)  # mkdir's mode is narrowed by the umask, never widened; be exact
    except NotADirectoryError:
        raise InputError("config.data_dir_file", path=str(path)) from None
    except OSError as exc:
        raise DataFolderError(path=str(path), reason=exc.strerror or str(exc)) from None
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (before SQLite opens it, so
    the database and its -wal/-shm files, which take the database's mode, are private).

    An existing file is never opened: closing any descriptor of a file drops every POSIX lock the
    process holds on it, so opening and closing ``station.db`` while this process already had a
    connection to it (a second store: the sync worker's, a service's) dropped that connection's
    locks. The next other process to close its connection (``kiosk queue`` while the UI ran)
    then took itself for the last one and deleted the -shm under the UI, whose every read after
    that failed with "disk I/O error" / "database disk image is malformed"."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.is_dir():
            raise InputError("config.data_dir_file", path=str(path)) from None
    except IsADirectoryError:
        raise InputError("config.data_dir_file", path=str(path)) from None
    except OSError as exc:
        raise DataFolderError(path=str(path), reason=exc.strerror or str(exc)) from None
    return path
