"""benchmarks/heap_growth.py: resident pages by mapping, read from smaps as proc(5) documents it."""

from __future__ import annotations

from benchmarks.heap_growth import resident_by_mapping

# the layout of /proc/PID/smaps (proc(5)): a header line per mapping (address range, permissions,
# offset, device, inode, path when file-backed), then "Key: value kB" lines
SMAPS = """\
55d0c8a00000-55d0c8a21000 rw-p 00000000 00:00 0                          [heap]
Size:                132 kB
Rss:                 120 kB
7f1c2a000000-7f1c2a400000 r-xp 00000000 08:01 1234                       /usr/lib/libopencv.so.4
Size:               4096 kB
Rss:                2048 kB
Pss:                2048 kB
7f1c2a400000-7f1c2a500000 r--p 00400000 08:01 1234                       /usr/lib/libopencv.so.4
Rss:                1024 kB
7f1c2b000000-7f1c2b800000 rw-p 00000000 00:00 0 
Rss:                3072 kB
VmFlags: rd wr mr mw me ac sd
"""


def test_pages_are_summed_per_mapped_file_and_anonymous_mappings_together() -> None:
    got = resident_by_mapping(SMAPS.splitlines(keepends=True))
    assert got == {"[heap]": 120 / 1024, "/usr/lib/libopencv.so.4": 3.0, "[anon]": 3.0}


def test_this_process_has_resident_pages() -> None:
    assert sum(resident_by_mapping().values()) > 1.0
