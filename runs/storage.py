"""Local-disk file storage that never leaves a partial file behind (docs/deploy.md#faults).

Django's FileSystemStorage leaves whatever it had written when a write fails half-way (a full
disk: ENOSPC); this one removes it before the error goes on. The error itself becomes
runs.files.StorageFull where files are stored (runs.files.store_file_bytes), which the pages
and the API answer with 507."""

import os
from contextlib import suppress

from django.core.files.storage import FileSystemStorage


class LocalStorage(FileSystemStorage):
    def _save(self, name, content):
        while True:
            full_path = self.path(name)
            directory = os.path.dirname(full_path)
            if self.directory_permissions_mode is not None:
                old_umask = os.umask(0o777 & ~self.directory_permissions_mode)
                try:
                    os.makedirs(directory, self.directory_permissions_mode, exist_ok=True)
                finally:
                    os.umask(old_umask)
            else:
                os.makedirs(directory, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0)
            flags |= os.O_TRUNC if getattr(self, "_allow_overwrite", False) else os.O_EXCL
            try:
                fd = os.open(full_path, flags, 0o666)
            except FileExistsError:  # taken since get_available_name: pick another, as Django does
                name = self.get_available_name(name)
                continue
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in content.chunks():
                        out.write(chunk if isinstance(chunk, bytes) else chunk.encode())
            except BaseException:
                with suppress(OSError):
                    os.remove(full_path)  # created by this call (O_EXCL): nothing half-written stays
                raise
            break
        if self.file_permissions_mode is not None:
            os.chmod(full_path, self.file_permissions_mode)
        return str(name).replace("\\", "/")
