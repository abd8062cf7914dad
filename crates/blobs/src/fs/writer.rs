//! Appending received bytes to a session file.
//!
//! Large uploads bypass the page cache: bytes are staged in a block-aligned buffer and
//! written with `O_DIRECT` a stage at a time. Through the page cache, every gigabyte pushed
//! costs the kernel a copy into freshly allocated cache pages (measured: 0.17 s/GB when the
//! pages are warm, 2.3 s/GB on a VM whose freed memory goes back to the host) and leaves
//! dirty pages for writeback to flush on the commit's `fdatasync`. A registry's uploads
//! are written once and rarely read back at once, so keeping them out of the cache costs
//! little. What does not fill a whole stage (small blobs, the tail of a chunk, a chunk's
//! unaligned start) is written through the cache as usual, and so is everything on a file
//! system that refuses `O_DIRECT`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Direct I/O wants buffer addresses, offsets and lengths aligned to the device's logical
/// block size; 4 KiB is a multiple of every common one.
const BLOCK: usize = 4096;
/// Bytes written per direct write: large enough that the device, not the system call,
/// sets the pace.
const STAGE: usize = 1024 * 1024;
/// Idle stage buffers kept for reuse (each `STAGE` bytes of reserved, not resident, memory
/// until an upload fills it).
const POOL_MAX: usize = 16;

/// Stage buffers reused across uploads: a fresh megabyte would cost an `mmap`, page faults
/// and an `munmap` per append.
#[derive(Default)]
pub(super) struct StagePool(Mutex<Vec<Vec<u8>>>);

impl StagePool {
    fn take(&self) -> Vec<u8> {
        let reused = self.0.lock().expect("stage pool lock").pop();
        reused.unwrap_or_else(|| Vec::with_capacity(STAGE + BLOCK))
    }

    fn give(&self, mut stage: Vec<u8>) {
        stage.clear();
        let mut pool = self.0.lock().expect("stage pool lock");
        if pool.len() < POOL_MAX {
            pool.push(stage);
        }
    }
}

/// The session file's `O_DIRECT` handle.
enum Direct {
    /// Not opened yet: small appends never need it.
    Untried,
    Open(File),
    /// The file system does not do direct I/O.
    Refused,
}

/// Appends to one session file, from where it ends now.
pub(super) struct SessionWriter<'a> {
    path: PathBuf,
    /// Opened for appending: the writes that go through the page cache.
    file: File,
    direct: Direct,
    pool: &'a StagePool,
    stage: Vec<u8>,
    /// Padding before the staged bytes, which puts them on a block-aligned address.
    pad: usize,
    /// File offset of the first staged byte.
    start: u64,
}

impl<'a> SessionWriter<'a> {
    /// `len` is the file's current length.
    pub(super) fn open(path: &Path, len: u64, pool: &'a StagePool) -> io::Result<SessionWriter<'a>> {
        let file = OpenOptions::new().append(true).open(path)?;
        let mut stage = pool.take();
        let pad = stage.as_ptr().align_offset(BLOCK);
        stage.resize(pad, 0);
        Ok(SessionWriter { path: path.to_owned(), file, direct: Direct::Untried, pool, stage, pad, start: len })
    }

    /// The session file, for syncing and verifying once everything is written.
    pub(super) fn file(&self) -> &File {
        &self.file
    }

    pub(super) fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let room = STAGE - self.staged().len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.stage.extend_from_slice(now);
            bytes = rest;
            if self.staged().len() == STAGE {
                self.flush_stage()?;
            }
        }
        Ok(())
    }

    /// Writes what is still staged; every byte given to `write` is in the file after this.
    pub(super) fn finish(&mut self) -> io::Result<()> {
        let staged = self.staged().len();
        (&self.file).write_all(self.staged())?;
        self.consume(staged);
        Ok(())
    }

    fn staged(&self) -> &[u8] {
        &self.stage[self.pad..]
    }

    /// Writes a full stage: directly when its file offset is block-aligned; otherwise
    /// (a chunk that began mid-block) only the bytes up to the next block boundary go,
    /// through the cache, and the stage fills up again from an aligned offset.
    fn flush_stage(&mut self) -> io::Result<()> {
        let misaligned = (self.start % BLOCK as u64) as usize;
        if misaligned != 0 {
            let head = BLOCK - misaligned;
            (&self.file).write_all(&self.staged()[..head])?;
            self.stage.copy_within(self.pad + head.., self.pad);
            self.stage.truncate(self.stage.len() - head);
            self.start += head as u64;
            return Ok(());
        }
        self.open_direct()?;
        if let Direct::Open(direct) = &self.direct {
            match direct.write_all_at(self.staged(), self.start) {
                Ok(()) => {
                    self.consume(STAGE);
                    return Ok(());
                }
                // Opening with O_DIRECT worked but the writes are refused, for alignment
                // rules of this file system's own: the cache it is, from here on. Whatever
                // part of the stage did land is cut off; the appends resume from there.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    self.direct = Direct::Refused;
                    self.file.set_len(self.start)?;
                }
                Err(e) => return Err(e),
            }
        }
        (&self.file).write_all(self.staged())?;
        self.consume(STAGE);
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.stage.truncate(self.pad);
        self.start += n as u64;
    }

    /// Opens the `O_DIRECT` handle the first time it is wanted.
    fn open_direct(&mut self) -> io::Result<()> {
        if let Direct::Untried = self.direct {
            let opened = OpenOptions::new().write(true).custom_flags(libc::O_DIRECT).open(&self.path);
            self.direct = match opened {
                Ok(file) => Direct::Open(file),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Direct::Refused,
                Err(e) => return Err(e),
            };
        }
        Ok(())
    }
}

impl Drop for SessionWriter<'_> {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.stage));
    }
}
