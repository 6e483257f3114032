"""The one way clickbait writes files and folders, locks them, and checks them on reading.

This module is the one place to import them from: single files live in `output_file.py`,
versioned folders in `folders.py`, and the primitives both use (names, links, signals,
leftovers) in `fileops.py`.

Single files (`OutputFile`, `write_file`): written to a temporary file made by `tempfile.mkstemp`
in the target's folder (unpredictable name, `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600), fsynced,
then renamed over the target, and the folder fsynced: a reader sees the old file or the new one,
never half of one. The temporary is removed on any exception, and on SIGTERM/SIGHUP (they raise
`Terminated` while a write is open). An output that is not a regular file (stdout, a FIFO, a
character device) is written in place, never replaced. A symbolic link at the target is neither
followed nor replaced (it could point anywhere), unless it points at a FIFO or character device
(`/dev/stdout`, a named pipe), which is written in place. An existing regular file is replaced
only with `force`; a folder never is.

Folders (`VersionedFolder`: a model, a user overlay): FOLDER holds a marker file
(`clickbait.json`, naming what wrote it), a lock file (`.lock`, an advisory `flock` through the
`filelock` package), `versions/<id>/` and one pointer, the symbolic link `current ->
versions/<id>`. A write makes a new version directory (`tempfile.mkdtemp`: private, 0700 while
written), fills it, writes `manifest.json` with the SHA-256 of every file in it, then swaps the
pointer with one rename; older versions are removed afterwards, under the lock. A reader resolves
the pointer once and reads one complete version; a reader that loses the race with that clean-up
retries. `force` replaces only a folder that carries the marker and nothing foreign; anything
else is refused with a message naming what is in the way.

Leftovers of a killed run (temporary files named `.NAME.PID.*.clickbait-tmp` whose process is
gone; version directories no pointer names, holding the marker `.clickbait-writing` a writer
puts in first or a manifest of ours) are removed by the next write, with a warning; anything
else in `versions` is left as it is.

Links: a model folder is untrusted input, and `current` is the only link in it that clickbait
follows (after checking that it reads `versions/<id>`). Every other path below the model folder
(`versions`, `users`, `users/NAME`, the marker, the lock, the files of a version) is checked
with `lstat`, component by component, before it is read, written, locked or removed, and a link
anywhere in the tree is an ArtifactError naming it (`check_real_dirs`, `check_tree`). No output
file is written inside a model folder (`OutputFile` refuses it).
"""

from __future__ import annotations

from .errors import ArtifactError
from .fileops import (
    CURRENT,
    LOCK,
    LOCK_TIMEOUT,
    MANIFEST,
    MARKER,
    TMP_SUFFIX,
    VERSIONS,
    WRITING,
    TargetInTheWay,
    Terminated,
    check_real_dirs,
    check_tree,
    clean_leftovers,
    fsync_dir,
    model_folder_of,
    sha256_file,
    terminate_cleanly,
)
from .folders import VersionedFolder, VersionWriter, read_json_artifact, read_retrying, verify_manifest
from .output_file import OutputFile, check_output, spool_file, write_file

__all__ = [
    "CURRENT",
    "LOCK",
    "LOCK_TIMEOUT",
    "MANIFEST",
    "MARKER",
    "TMP_SUFFIX",
    "VERSIONS",
    "WRITING",
    "ArtifactError",
    "OutputFile",
    "TargetInTheWay",
    "Terminated",
    "VersionWriter",
    "VersionedFolder",
    "check_output",
    "check_real_dirs",
    "check_tree",
    "clean_leftovers",
    "fsync_dir",
    "model_folder_of",
    "read_json_artifact",
    "read_retrying",
    "sha256_file",
    "spool_file",
    "terminate_cleanly",
    "verify_manifest",
    "write_file",
]
