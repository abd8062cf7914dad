//! Turning a layer blob into its tar stream: which compression it uses, and the decoders.
//!
//! The media type says which layer types we accept; the first bytes say how the blob is
//! compressed. containerd decides by the bytes too, so an image whose media type and bytes
//! disagree (a plain tar labelled `+gzip`, which some tools push) still runs, and we read it as
//! it runs.

use std::io::{self, Chain, Cursor, Read};

use ruzstd::decoding::{FrameDecoder, StreamingDecoder};

use crate::LayerError;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Skippable frames (zstd:chunked puts its table of contents in one) use magics 0x184D2A50..5F.
const ZSTD_SKIPPABLE: std::ops::RangeInclusive<u32> = 0x184D_2A50..=0x184D_2A5F;
/// zstd's own decoder refuses windows over 128 MiB unless told otherwise (`--long`); a frame
/// that asks for more is either hostile or made for a special reader.
const ZSTD_MAX_WINDOW: u64 = 128 << 20;

/// The compression a layer media type names, or an error for a media type that is not a
/// layer. An empty media type (unknown) is accepted and left to the bytes.
pub fn media_type_compression(media_type: &str) -> Result<Option<Compression>, LayerError> {
    let media_type = media_type.split(';').next().unwrap_or_default().trim();
    let known = [
        ("application/vnd.oci.image.layer.v1.tar", Compression::None),
        ("application/vnd.oci.image.layer.v1.tar+gzip", Compression::Gzip),
        ("application/vnd.oci.image.layer.v1.tar+zstd", Compression::Zstd),
        ("application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::None),
        ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression::Gzip),
        ("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::Zstd),
        ("application/vnd.docker.image.rootfs.diff.tar", Compression::None),
        ("application/vnd.docker.image.rootfs.diff.tar.gzip", Compression::Gzip),
        ("application/vnd.docker.image.rootfs.diff.tar.zstd", Compression::Zstd),
        ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Compression::Gzip),
    ];
    if media_type.is_empty() {
        return Ok(None);
    }
    match known.iter().find(|(name, _)| *name == media_type) {
        Some(&(_, compression)) => Ok(Some(compression)),
        None => Err(LayerError::UnsupportedMediaType(media_type.to_string())),
    }
}

/// The decompressed tar stream of a layer, and whether it was compressed.
pub fn decompress<'a, R: Read + 'a>(media_type: &str, mut reader: R) -> Result<(Box<dyn Read + 'a>, bool), LayerError> {
    media_type_compression(media_type)?;
    let mut head = Vec::with_capacity(4);
    (&mut reader).take(4).read_to_end(&mut head).map_err(LayerError::Io)?;
    let compression = sniff(&head);
    let stream = Cursor::new(head).chain(reader);
    Ok(match compression {
        Compression::None => (Box::new(stream), false),
        Compression::Gzip => (Box::new(flate2::read::MultiGzDecoder::new(stream)), true),
        Compression::Zstd => (Box::new(ZstdFrames::new(stream)), true),
    })
}

fn sniff(head: &[u8]) -> Compression {
    let word = head.get(..4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    match word {
        _ if head.starts_with(&GZIP_MAGIC) => Compression::Gzip,
        Some(w) if w == ZSTD_MAGIC || ZSTD_SKIPPABLE.contains(&w) => Compression::Zstd,
        _ => Compression::None,
    }
}

/// A zstd stream of any number of frames. `ruzstd`'s decoder reads one frame, while zstd
/// layers often have several (zstd:chunked writes one per chunk, plus skippable frames), and
/// it does not bound the window of the first frame it sees, so each frame's header is checked
/// here before the decoder gets it.
struct ZstdFrames<R: Read> {
    state: ZstdState<R>,
}

/// Between frames we hold the stream; inside one, the decoder holds it, with the header bytes
/// we read to check it chained back in front.
enum ZstdState<R: Read> {
    Between(R),
    InFrame(Box<FrameReader<R>>),
    Done,
}

type FrameReader<R> = StreamingDecoder<Chain<Cursor<Vec<u8>>, R>, FrameDecoder>;

impl<R: Read> ZstdFrames<R> {
    fn new(reader: R) -> Self {
        ZstdFrames { state: ZstdState::Between(reader) }
    }

    /// Starts the next frame, skipping skippable ones; `Ok(false)` at the end of the stream.
    fn next_frame(&mut self, mut reader: R) -> io::Result<bool> {
        loop {
            let mut magic = [0u8; 4];
            let n = read_full(&mut reader, &mut magic)?;
            if n == 0 {
                return Ok(false);
            }
            if n < 4 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "zstd stream ends inside a frame header"));
            }
            let word = u32::from_le_bytes(magic);
            if ZSTD_SKIPPABLE.contains(&word) {
                let mut len = [0u8; 4];
                if read_full(&mut reader, &mut len)? < 4 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "zstd skippable frame is cut short"));
                }
                let len = u64::from(u32::from_le_bytes(len));
                if io::copy(&mut (&mut reader).take(len), &mut io::sink())? < len {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "zstd skippable frame is cut short"));
                }
                continue;
            }
            if word != ZSTD_MAGIC {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "not a zstd frame"));
            }
            let mut header = magic.to_vec();
            let window = read_window(&mut reader, &mut header)?;
            if window > ZSTD_MAX_WINDOW {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("zstd frame window of {window} bytes is over the {ZSTD_MAX_WINDOW} byte limit"),
                ));
            }
            let decoder = StreamingDecoder::new(Cursor::new(header).chain(reader)).map_err(io::Error::other)?;
            self.state = ZstdState::InFrame(Box::new(decoder));
            return Ok(true);
        }
    }
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match std::mem::replace(&mut self.state, ZstdState::Done) {
                ZstdState::Done => return Ok(0),
                ZstdState::Between(reader) => {
                    if !self.next_frame(reader)? {
                        return Ok(0);
                    }
                }
                ZstdState::InFrame(mut decoder) => {
                    let n = decoder.read(buf)?;
                    if n > 0 {
                        self.state = ZstdState::InFrame(decoder);
                        return Ok(n);
                    }
                    let (_, reader) = decoder.into_inner().into_inner();
                    self.state = ZstdState::Between(reader);
                }
            }
        }
    }
}

/// Reads the rest of a zstd frame header (appending it to `header`) far enough to know the
/// window size the frame asks for (RFC 8878 §3.1.1.1).
fn read_window<R: Read>(reader: &mut R, header: &mut Vec<u8>) -> io::Result<u64> {
    let short = || io::Error::new(io::ErrorKind::UnexpectedEof, "zstd frame header is cut short");
    let mut byte = [0u8; 1];
    if read_full(reader, &mut byte)? < 1 {
        return Err(short());
    }
    let descriptor = byte[0];
    header.push(descriptor);
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        if read_full(reader, &mut byte)? < 1 {
            return Err(short());
        }
        header.push(byte[0]);
        let exponent = u64::from(byte[0] >> 3);
        let mantissa = u64::from(byte[0] & 7);
        let base = 1u64 << (10 + exponent);
        return Ok(base + base / 8 * mantissa);
    }
    // A single-segment frame's window is its content size, stored after the dictionary id.
    let dict_len = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let size_len = [1, 2, 4, 8][usize::from(descriptor >> 6)];
    let mut rest = vec![0u8; dict_len + size_len];
    if read_full(reader, &mut rest)? < rest.len() {
        return Err(short());
    }
    header.extend_from_slice(&rest);
    let field = &rest[dict_len..];
    let size = field.iter().rev().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    Ok(if size_len == 2 { size + 256 } else { size })
}

fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
