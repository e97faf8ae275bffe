//! A VFS over SQLite's default one that gathers a connection's writes to its WAL and
//! database files in memory and hands each contiguous run to the kernel in one
//! `pwrite` when SQLite syncs, reads, sizes, locks or closes the file. SQLite writes
//! each WAL frame as two calls (a 24-byte header, then the page), so a group commit of
//! 20 reports was some 250 `pwrite`s, each taking the kernel's page-cache locks, and a
//! checkpoint copies the log into the database a page per call; gathered, a commit is
//! one call and a checkpoint one per run of adjacent pages. Other files (the
//! shared-memory index, temporary files) are the default VFS's own, untouched.
//!
//! Nothing is acknowledged by it: SQLite only counts on a write once `xSync` returned,
//! and every sync writes what was gathered first. Other connections see new WAL
//! frames, and database pages a checkpoint copied, only once SQLite publishes them in
//! the WAL index, which it does after that sync when `synchronous` is FULL: what the
//! store uses, and what this VFS needs (with NORMAL a reader could look for bytes
//! still in this buffer).

use rusqlite::ffi;
use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

/// The VFS name to open a connection with.
pub const NAME: &CStr = c"fleetscope-gather";

/// Most bytes gathered before they are written anyway (a large transaction).
const CAP: usize = 8 << 20;
/// Most bytes passed on in one call: the unix VFS writes at most 128 KiB - 1 per
/// `pwrite` (it masks the length to 17 bits) and reports a remainder of exactly
/// 128 KiB as a full disk.
const MAX_WRITE: usize = 120 << 10;

/// Our part of an open WAL or database file; the default VFS's file follows it in the same
/// allocation (SQLite gives each file `szOsFile` bytes).
#[repr(C)]
struct Gather {
    base: ffi::sqlite3_file,
    /// Bytes written but not yet passed on, contiguous from file offset `at`.
    buf: Vec<u8>,
    at: i64,
    /// A failed flush's error, kept for the next `xSync`: whichever call flushed
    /// (SQLite ignores an unlock's result), SQLite must never see a sync succeed
    /// after a write it was told had been done was lost.
    failed: c_int,
}

const HEADER: usize = std::mem::size_of::<Gather>().next_multiple_of(16);

/// Register the VFS (once per process; later calls return the first outcome).
pub fn register() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        // SAFETY: the default VFS lives for the process; ours is a copy with a larger
        // file size and our xOpen, leaked so it lives as long.
        unsafe {
            let parent = ffi::sqlite3_vfs_find(std::ptr::null());
            if parent.is_null() {
                return Err("SQLite has no default VFS".into());
            }
            let mut vfs = *parent;
            vfs.szOsFile = (*parent).szOsFile + HEADER as c_int;
            vfs.pNext = std::ptr::null_mut();
            vfs.zName = NAME.as_ptr();
            vfs.pAppData = parent.cast::<c_void>();
            vfs.xOpen = Some(x_open);
            let rc = ffi::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 0);
            if rc != ffi::SQLITE_OK {
                return Err(format!(
                    "cannot register the write-gathering VFS (SQLite error {rc})"
                ));
            }
        }
        Ok(())
    })
    .clone()
}

/// The default VFS's file inside ours.
unsafe fn real(f: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    f.cast::<u8>().add(HEADER).cast()
}

unsafe fn methods(f: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    &*(*f).pMethods
}

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let parent = (*vfs).pAppData.cast::<ffi::sqlite3_vfs>();
    let Some(open) = (*parent).xOpen else {
        return ffi::SQLITE_ERROR;
    };
    if flags & (ffi::SQLITE_OPEN_WAL | ffi::SQLITE_OPEN_MAIN_DB) == 0 {
        // Neither: the default VFS's file as it is (ours is larger, so it fits).
        return open(parent, name, file, flags, out_flags);
    }
    (*file).pMethods = std::ptr::null();
    let rc = open(parent, name, real(file), flags, out_flags);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    file.cast::<Gather>().write(Gather {
        base: ffi::sqlite3_file {
            pMethods: &GATHER_METHODS,
        },
        buf: Vec::new(),
        at: 0,
        failed: ffi::SQLITE_OK,
    });
    ffi::SQLITE_OK
}

/// Pass on what was gathered; a failure is also kept for the next sync.
unsafe fn flush(f: *mut ffi::sqlite3_file) -> c_int {
    let g = &mut *f.cast::<Gather>();
    if g.buf.is_empty() {
        return ffi::SQLITE_OK;
    }
    let r = real(f);
    let mut rc = ffi::SQLITE_IOERR_WRITE;
    if let Some(write) = methods(r).xWrite {
        let mut at = g.at;
        for chunk in g.buf.chunks(MAX_WRITE) {
            rc = write(r, chunk.as_ptr().cast(), chunk.len() as c_int, at);
            if rc != ffi::SQLITE_OK {
                break;
            }
            at += chunk.len() as i64;
        }
    }
    g.buf.clear();
    if rc != ffi::SQLITE_OK && g.failed == ffi::SQLITE_OK {
        g.failed = rc;
    }
    rc
}

/// `xSync`: what was gathered, then the sync; an earlier flush's failure fails it.
unsafe extern "C" fn g_sync(f: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    let rc = flush(f);
    let failed = std::mem::replace(&mut (*f.cast::<Gather>()).failed, ffi::SQLITE_OK);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    if failed != ffi::SQLITE_OK {
        return failed;
    }
    let r = real(f);
    methods(r)
        .xSync
        .map_or(ffi::SQLITE_IOERR_FSYNC, |sync| sync(r, flags))
}

unsafe extern "C" fn g_write(
    f: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let g = f.cast::<Gather>();
    let n = usize::try_from(amount).unwrap_or(0);
    if n == 0 {
        return ffi::SQLITE_OK;
    }
    let pending = (*g).buf.len();
    if pending > 0 && offset != (*g).at + pending as i64 {
        let rc = flush(f);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    if (*g).buf.is_empty() {
        (*g).at = offset;
    }
    (*g).buf
        .extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), n));
    if (*g).buf.len() >= CAP {
        return flush(f);
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn g_close(f: *mut ffi::sqlite3_file) -> c_int {
    let flushed = flush(f);
    let r = real(f);
    let closed = methods(r).xClose.map_or(ffi::SQLITE_OK, |close| close(r));
    // SQLite frees the file's memory without dropping what is in it.
    std::ptr::drop_in_place(&raw mut (*f.cast::<Gather>()).buf);
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn g_fetch(
    f: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    let rc = flush(f);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let r = real(f);
    match methods(r).xFetch {
        Some(fetch) if methods(r).iVersion >= 3 => fetch(r, offset, amount, out),
        _ => {
            *out = std::ptr::null_mut();
            ffi::SQLITE_OK
        }
    }
}

/// Methods passed on to the default VFS's file: after writing what was gathered and
/// only if that worked (`flush`); after writing it whatever came of that (`around`:
/// lock changes, so that a checkpoint's pages reach the file before its lock is
/// released, and a lock is released even when they cannot); or at once (`direct`).
macro_rules! forward {
    ($when:ident $name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            let rc = forward!(@$when f);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            let r = real(f);
            methods(r).$method.map_or($missing, |m| m(r $(, $arg)*))
        }
    };
    (@flush $f:ident) => { flush($f) };
    // A failure is kept for the next sync.
    (@around $f:ident) => {{ flush($f); ffi::SQLITE_OK }};
    (@direct $f:ident) => { ffi::SQLITE_OK };
}
forward!(flush g_read, xRead, ffi::SQLITE_IOERR_READ, (data: *mut c_void, amount: c_int, offset: i64));
forward!(flush g_truncate, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, (size: i64));
forward!(flush g_file_size, xFileSize, ffi::SQLITE_IOERR_FSTAT, (size: *mut i64));
forward!(flush g_file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, arg: *mut c_void));
forward!(around g_lock, xLock, ffi::SQLITE_IOERR_LOCK, (level: c_int));
forward!(around g_unlock, xUnlock, ffi::SQLITE_IOERR_UNLOCK, (level: c_int));
forward!(direct g_check_reserved, xCheckReservedLock, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK, (out: *mut c_int));
forward!(direct g_sector_size, xSectorSize, 4096, ());
forward!(direct g_device_characteristics, xDeviceCharacteristics, 0, ());
forward!(direct g_shm_map, xShmMap, ffi::SQLITE_IOERR_SHMMAP, (region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void));
forward!(around g_shm_lock, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, (offset: c_int, n: c_int, flags: c_int));
forward!(direct g_shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int));
forward!(direct g_unfetch, xUnfetch, ffi::SQLITE_OK, (offset: i64, p: *mut c_void));

unsafe extern "C" fn g_shm_barrier(f: *mut ffi::sqlite3_file) {
    let r = real(f);
    if let Some(barrier) = methods(r).xShmBarrier {
        barrier(r);
    }
}

static GATHER_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(g_close),
    xRead: Some(g_read),
    xWrite: Some(g_write),
    xTruncate: Some(g_truncate),
    xSync: Some(g_sync),
    xFileSize: Some(g_file_size),
    xLock: Some(g_lock),
    xUnlock: Some(g_unlock),
    xCheckReservedLock: Some(g_check_reserved),
    xFileControl: Some(g_file_control),
    xSectorSize: Some(g_sector_size),
    xDeviceCharacteristics: Some(g_device_characteristics),
    xShmMap: Some(g_shm_map),
    xShmLock: Some(g_shm_lock),
    xShmBarrier: Some(g_shm_barrier),
    xShmUnmap: Some(g_shm_unmap),
    xFetch: Some(g_fetch),
    xUnfetch: Some(g_unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    const CHILD: &str = "FLEETSCOPE_GATHER_VFS_CHILD";

    /// An empty directory of this process's own under the system's temporary one.
    fn fresh_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A WAL database through this VFS, as the store configures one but never
    /// checkpointing on its own, with an empty table `t (k, v)`.
    fn open_table(path: &std::path::Path) -> Connection {
        register().unwrap();
        let c = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).unwrap();
        c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
            .unwrap();
        c
    }

    /// A disk that fills up: in a child process whose files may not grow past 2 MB
    /// (RLIMIT_FSIZE), commits through the VFS until one fails. That one must report
    /// the failure, and every commit that reported success must be there afterwards.
    #[test]
    fn a_failed_write_fails_the_commit_and_loses_nothing_committed() {
        if let Some(dir) = std::env::var_os(CHILD) {
            return fill_disk(std::path::Path::new(&dir));
        }
        let dir = fresh_dir("gather-full");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "collector::store::sqlite::vfs::tests::a_failed_write_fails_the_commit_and_loses_nothing_committed",
                "--nocapture",
            ])
            .env(CHILD, &dir)
            .status()
            .unwrap();
        assert!(status.success());
        let report = std::fs::read_to_string(dir.join("commits")).unwrap();
        let (ok, error) = report.split_once(' ').unwrap();
        let ok: i64 = ok.parse().unwrap();
        assert!(ok >= 3, "some commits fit under the limit ({report})");
        assert!(
            error.contains("disk I/O error") || error.contains("full"),
            "the failing commit says why: {error}"
        );
        let c = Connection::open(dir.join("t.db")).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, ok * 40, "exactly the acknowledged commits");
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn fill_disk(dir: &std::path::Path) {
        let w = open_table(&dir.join("t.db"));
        // SAFETY: plain libc calls on this process alone; past the limit a write
        // fails with EFBIG instead of raising SIGXFSZ.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 2 << 20,
                rlim_max: libc::RLIM_INFINITY,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        }
        let mut ok = 0i64;
        let error = loop {
            let commit = || -> rusqlite::Result<()> {
                w.execute_batch("BEGIN")?;
                for k in 0..40i64 {
                    w.execute(
                        "INSERT INTO t VALUES (?1, ?2)",
                        rusqlite::params![ok * 40 + k, vec![7u8; 3000]],
                    )?;
                }
                w.execute_batch("COMMIT")
            };
            match commit() {
                Ok(()) => ok += 1,
                Err(e) => break e.to_string(),
            }
            assert!(ok < 1000, "the file size limit never bit");
        };
        std::fs::write(dir.join("commits"), format!("{ok} {error}")).unwrap();
    }

    /// Writes through the VFS read back through it, through another connection on
    /// the default VFS while the first is open, from a copy of the files (WAL
    /// recovery), and from the database file alone after a checkpoint.
    #[test]
    fn gathered_writes_are_what_sqlite_wrote() {
        let dir = fresh_dir("wal-gather");
        let path = dir.join("t.db");
        let w = open_table(&path);
        let other = Connection::open(&path).unwrap();
        for round in 0..50i64 {
            w.execute_batch("BEGIN").unwrap();
            for k in 0..40i64 {
                let v = vec![(round * 40 + k) as u8; 3000 + k as usize];
                w.execute(
                    "INSERT INTO t VALUES (?1, ?2)",
                    rusqlite::params![round * 40 + k, v],
                )
                .unwrap();
            }
            w.execute_batch("COMMIT").unwrap();
            let n: i64 = other
                .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, (round + 1) * 40);
        }
        let wal = std::fs::metadata(dir.join("t.db-wal")).unwrap().len();
        assert!(wal > 6_000_000, "the rows went to the WAL ({wal} bytes)");
        let sum = |c: &Connection| -> i64 {
            c.query_row("SELECT SUM(length(v)) + SUM(k) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        let expected: i64 = (0..2000i64).map(|k| 3000 + k % 40 + k).sum();
        assert_eq!(sum(&w), expected);
        assert_eq!(sum(&other), expected);
        // Recovery from the WAL alone: copy the files as a crash would leave them.
        for ext in ["", "-wal"] {
            std::fs::copy(
                dir.join(format!("t.db{ext}")),
                dir.join(format!("copy.db{ext}")),
            )
            .unwrap();
        }
        let copy = Connection::open(dir.join("copy.db")).unwrap();
        assert_eq!(sum(&copy), expected);
        let bytes: Vec<u8> = copy
            .query_row("SELECT v FROM t WHERE k = 1234", [], |r| r.get(0))
            .unwrap();
        assert_eq!(bytes, vec![(1234 % 256) as u8; 3000 + 1234 % 40]);
        // A checkpoint through the VFS (its database writes gathered) leaves the
        // database file complete on its own: the log is truncated to nothing.
        drop(other);
        let (busy, _, _): (i64, i64, i64) = w
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(busy, 0);
        assert_eq!(std::fs::metadata(dir.join("t.db-wal")).unwrap().len(), 0);
        std::fs::copy(dir.join("t.db"), dir.join("alone.db")).unwrap();
        let alone = Connection::open(dir.join("alone.db")).unwrap();
        assert_eq!(sum(&alone), expected);
        drop((w, copy, alone));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
