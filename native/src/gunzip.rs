//! Gunzip into the caller's buffer, with the zlib that Node.js itself links and exports (the one `node:zlib` uses,
//! so the same inflater, the same results and errors). A scan worker inflates on its own thread into one reused
//! output buffer: no thread-pool round trip per chunk and no fresh buffer per chunk for the garbage collector (see
//! `NativeGunzip` in src/inventory/native-scan.ts for what that saves).

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr};

/// zlib's `z_stream` (zlib.h), the same layout in every zlib 1.x.
#[repr(C)]
struct ZStream {
    next_in: *const u8,
    avail_in: c_uint,
    total_in: c_ulong,
    next_out: *mut u8,
    avail_out: c_uint,
    total_out: c_ulong,
    msg: *const c_char,
    state: *mut c_void,
    zalloc: *mut c_void,
    zfree: *mut c_void,
    opaque: *mut c_void,
    data_type: c_int,
    adler: c_ulong,
    reserved: c_ulong,
}

extern "C" {
    fn inflateInit2_(strm: *mut ZStream, window_bits: c_int, version: *const c_char, stream_size: c_int) -> c_int;
    fn inflate(strm: *mut ZStream, flush: c_int) -> c_int;
    fn inflateReset(strm: *mut ZStream) -> c_int;
    fn inflateEnd(strm: *mut ZStream) -> c_int;
}

const Z_OK: c_int = 0;
const Z_STREAM_END: c_int = 1;
const Z_NEED_DICT: c_int = 2;
const Z_DATA_ERROR: c_int = -3;
const Z_MEM_ERROR: c_int = -4;
const Z_BUF_ERROR: c_int = -5;
const Z_NO_FLUSH: c_int = 0;
/// 15-bit window, + 16: a gzip wrapper (header and CRC-32 checked), as `createGunzip` asks for.
const GZIP_WINDOW_BITS: c_int = 15 + 16;
/// Only the major version must match (zlib checks its first character).
const ZLIB_VERSION: &[u8] = b"1.3.1\0";

/// Why `Gunzip::run` returned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Inflated {
    /// The input is used up; call again with more.
    NeedInput = 0,
    /// The output is full; hand it on and call again.
    OutputFull = 1,
}

/// A zlib error: Node's code name (`Z_DATA_ERROR`, …) and zlib's message.
#[derive(Debug)]
pub struct ZError {
    pub code: &'static str,
    pub message: String,
}

/// One gzip file's inflater (every member of it: a file may hold several, one after another).
pub struct Gunzip {
    strm: Box<ZStream>,
    /// The last member ended; more input starts another (or is zero padding, which is ignored as Node does).
    pub ended: bool,
}

impl Gunzip {
    pub fn new() -> Result<Gunzip, ZError> {
        // SAFETY: an all-zero z_stream is zlib's documented initial state (Z_NULL allocators: its own).
        let mut strm: Box<ZStream> = Box::new(unsafe { std::mem::zeroed() });
        let rc = unsafe {
            inflateInit2_(
                &mut *strm,
                GZIP_WINDOW_BITS,
                ZLIB_VERSION.as_ptr() as *const c_char,
                std::mem::size_of::<ZStream>() as c_int,
            )
        };
        if rc != Z_OK {
            return Err(ZError { code: "Z_MEM_ERROR", message: format!("zlib could not start (code {rc})") });
        }
        Ok(Gunzip { strm, ended: false })
    }

    fn error(&self, rc: c_int) -> ZError {
        let msg = if self.strm.msg.is_null() {
            None
        } else {
            // SAFETY: zlib's messages are static NUL-terminated strings.
            Some(unsafe { CStr::from_ptr(self.strm.msg) }.to_string_lossy().into_owned())
        };
        let (code, fallback) = match rc {
            Z_NEED_DICT => ("Z_NEED_DICT", "Missing dictionary"),
            Z_DATA_ERROR => ("Z_DATA_ERROR", "invalid data"),
            Z_MEM_ERROR => ("Z_MEM_ERROR", "out of memory"),
            Z_BUF_ERROR => ("Z_BUF_ERROR", "unexpected end of file"),
            _ => ("Z_DATA_ERROR", "zlib error"),
        };
        ZError { code, message: msg.unwrap_or_else(|| fallback.to_string()) }
    }

    /// Inflates `input[*pos..]` into `out[*out_pos..]`, advancing both.
    pub fn run(&mut self, input: &[u8], pos: &mut usize, out: &mut [u8], out_pos: &mut usize) -> Result<Inflated, ZError> {
        loop {
            if self.ended {
                // Node's gunzip: after a member, a zero byte ends the data (padding); anything else is a new member.
                if *pos < input.len() && input[*pos] == 0 {
                    *pos = input.len();
                }
                if *pos >= input.len() {
                    return Ok(Inflated::NeedInput);
                }
                // SAFETY: strm was initialised by inflateInit2_.
                unsafe { inflateReset(&mut *self.strm) };
                self.ended = false;
            }
            if *pos >= input.len() {
                return Ok(Inflated::NeedInput);
            }
            if *out_pos >= out.len() {
                return Ok(Inflated::OutputFull);
            }
            let avail_in = (input.len() - *pos).min(c_uint::MAX as usize);
            let avail_out = (out.len() - *out_pos).min(c_uint::MAX as usize);
            self.strm.next_in = input[*pos..].as_ptr();
            self.strm.avail_in = avail_in as c_uint;
            self.strm.next_out = out[*out_pos..].as_mut_ptr();
            self.strm.avail_out = avail_out as c_uint;
            // SAFETY: next_in/next_out point into live slices of at least avail_in/avail_out bytes.
            let rc = unsafe { inflate(&mut *self.strm, Z_NO_FLUSH) };
            *pos += avail_in - self.strm.avail_in as usize;
            *out_pos += avail_out - self.strm.avail_out as usize;
            self.strm.next_in = std::ptr::null();
            self.strm.next_out = std::ptr::null_mut();
            match rc {
                Z_OK => {}
                Z_STREAM_END => self.ended = true,
                // No progress possible: input or output used up, handled at the top of the loop.
                Z_BUF_ERROR if self.strm.avail_in == 0 || self.strm.avail_out == 0 => {}
                _ => return Err(self.error(rc)),
            }
        }
    }
}

impl Drop for Gunzip {
    fn drop(&mut self) {
        // SAFETY: strm was initialised by inflateInit2_ and is ended once.
        unsafe { inflateEnd(&mut *self.strm) };
    }
}
