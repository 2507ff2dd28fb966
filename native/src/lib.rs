//! `s3c-native`: the inventory CSV scan's hot loop as a Node-API addon, loaded by the scan's worker threads
//! through `src/inventory/native-scan.ts`. `scan.rs` holds the scanner; this file is the JavaScript surface:
//!
//! - `create(ints: Int32Array, blob: Uint8Array, sizes: Float64Array)` → handle: a scanner for one data file,
//!   configured from the scan plan (`encodePlan` in native-scan.ts). Throws for a config it cannot read.
//! - `addClass(handle, bytes: Uint8Array, index: Int32Array(1))`: JavaScript counts storage class `bytes` at
//!   `index` of its totals; the scanner adds its rows of that class there.
//! - `scan(handle, chunk: Uint8Array, out: Uint8Array, state: Float64Array(8), totals: Float64Array)` → stop code
//!   (0 need more, 1 a row for JavaScript, 2 output full). `state` in: [0] position in `chunk`, [1] end of the
//!   data in `chunk`, [2] position in `out`, [3] sample threshold; out: [0] position, [2] output position,
//!   [4] rows scanned, [5] rows selected, [6] rows written. `totals` holds the running (bytes, rows) per class
//!   index; selected rows are added to them. `out`, `state` and `totals` must not overlap each other or `chunk`.
//!
//! - `gunzipCreate()` → handle: an inflater for one gzip file (every member of it), with Node's own zlib.
//! - `gunzip(handle, input: Uint8Array, out: Uint8Array, state: Float64Array(4))` → stop code (0 the input is used
//!   up, 1 the output is full). `state` in: [0] position in `input`, [1] end of the data in `input`, [2] position
//!   in `out`; out: [0] position, [2] output position, [3] 1 when the last member has ended. A zlib error throws an
//!   Error whose `code` is Node's (`Z_DATA_ERROR`, …).
//!
//! The dozen Node-API functions used are declared by hand from `js_native_api.h` (stable C ABI since Node-API 1)
//! rather than generated: the addon then builds in seconds with a single dependency. Entry points catch panics,
//! so a bug here becomes a JavaScript exception, never a crashed worker.

mod gunzip;
mod scan;

use std::ffi::{c_char, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use gunzip::Gunzip;
use scan::{Config, Scanner};

#[allow(non_camel_case_types)]
type napi_env = *mut c_void;
#[allow(non_camel_case_types)]
type napi_value = *mut c_void;
#[allow(non_camel_case_types)]
type napi_callback_info = *mut c_void;
#[allow(non_camel_case_types)]
type napi_status = i32;
#[allow(non_camel_case_types)]
type napi_callback = unsafe extern "C" fn(napi_env, napi_callback_info) -> napi_value;
#[allow(non_camel_case_types)]
type napi_finalize = unsafe extern "C" fn(napi_env, *mut c_void, *mut c_void);

const NAPI_OK: napi_status = 0;
// napi_typedarray_type
const INT32_ARRAY: i32 = 5;
const UINT8_ARRAY: i32 = 1;
const FLOAT64_ARRAY: i32 = 8;

extern "C" {
    fn napi_get_cb_info(
        env: napi_env,
        info: napi_callback_info,
        argc: *mut usize,
        argv: *mut napi_value,
        this_arg: *mut napi_value,
        data: *mut *mut c_void,
    ) -> napi_status;
    fn napi_get_typedarray_info(
        env: napi_env,
        value: napi_value,
        kind: *mut i32,
        length: *mut usize,
        data: *mut *mut c_void,
        arraybuffer: *mut napi_value,
        byte_offset: *mut usize,
    ) -> napi_status;
    fn napi_create_external(
        env: napi_env,
        data: *mut c_void,
        finalize_cb: napi_finalize,
        finalize_hint: *mut c_void,
        result: *mut napi_value,
    ) -> napi_status;
    fn napi_get_value_external(env: napi_env, value: napi_value, result: *mut *mut c_void) -> napi_status;
    fn napi_create_uint32(env: napi_env, value: u32, result: *mut napi_value) -> napi_status;
    fn napi_get_undefined(env: napi_env, result: *mut napi_value) -> napi_status;
    fn napi_throw_error(env: napi_env, code: *const c_char, msg: *const c_char) -> napi_status;
    fn napi_throw_type_error(env: napi_env, code: *const c_char, msg: *const c_char) -> napi_status;
    fn napi_create_function(
        env: napi_env,
        name: *const c_char,
        length: usize,
        cb: napi_callback,
        data: *mut c_void,
        result: *mut napi_value,
    ) -> napi_status;
    fn napi_set_named_property(env: napi_env, object: napi_value, name: *const c_char, value: napi_value)
        -> napi_status;
    fn napi_type_tag_object(env: napi_env, value: napi_value, tag: *const TypeTag) -> napi_status;
    fn napi_check_object_type_tag(env: napi_env, value: napi_value, tag: *const TypeTag, result: *mut bool)
        -> napi_status;
}

/// `napi_type_tag` (Node-API 8): marks our handles so a foreign external is refused before it is dereferenced.
#[repr(C)]
struct TypeTag {
    lower: u64,
    upper: u64,
}

static HANDLE_TAG: TypeTag = TypeTag { lower: 0x7333_635f_7363_616e, upper: 0x9d2c_5e1f_04a7_b3c8 };

/// Tells our handles apart from any other external value passed by mistake.
const MAGIC: u64 = 0x7333_635f_7363_616e; // "s3c_scan"

struct Handle {
    magic: u64,
    scanner: Scanner,
}

static GUNZIP_TAG: TypeTag = TypeTag { lower: 0x7333_635f_677a_6970, upper: 0x51e3_0c9a_77d2_4b16 };

/// Tells our inflaters apart from any other external value.
const GUNZIP_MAGIC: u64 = 0x7333_635f_677a_6970; // "s3c_gzip"

struct GunzipHandle {
    magic: u64,
    gunzip: Gunzip,
}

/// A JavaScript exception to throw: code, message, and whether it is a TypeError.
struct Thrown(&'static str, String, bool);

fn type_error(msg: impl Into<String>) -> Thrown {
    Thrown("ERR_INVALID_ARG_TYPE", msg.into(), true)
}

unsafe fn throw(env: napi_env, t: Thrown) -> napi_value {
    let code = CString::new(t.0).unwrap_or_default();
    let msg = CString::new(t.1.replace('\0', " ")).unwrap_or_default();
    if t.2 {
        napi_throw_type_error(env, code.as_ptr(), msg.as_ptr());
    } else {
        napi_throw_error(env, code.as_ptr(), msg.as_ptr());
    }
    ptr::null_mut()
}

/// Runs an entry point: errors and panics become JavaScript exceptions.
unsafe fn guard(env: napi_env, f: impl FnOnce() -> Result<napi_value, Thrown>) -> napi_value {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(t)) => throw(env, t),
        Err(_) => throw(env, Thrown("ERR_S3C_NATIVE_PANIC", "internal error in the native scanner".into(), false)),
    }
}

unsafe fn args<const N: usize>(env: napi_env, info: napi_callback_info) -> Result<[napi_value; N], Thrown> {
    let mut argv = [ptr::null_mut(); N];
    let mut argc = N;
    if napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) != NAPI_OK {
        return Err(type_error("could not read the arguments"));
    }
    if argc < N {
        return Err(type_error(format!("expected {N} arguments, got {argc}")));
    }
    Ok(argv)
}

unsafe fn handle<'a>(env: napi_env, value: napi_value) -> Result<&'a mut Handle, Thrown> {
    let mut tagged = false;
    if napi_check_object_type_tag(env, value, &HANDLE_TAG, &mut tagged) != NAPI_OK || !tagged {
        return Err(type_error("the handle is not a native scanner"));
    }
    let mut data: *mut c_void = ptr::null_mut();
    if napi_get_value_external(env, value, &mut data) != NAPI_OK || data.is_null() {
        return Err(type_error("the handle is not a native scanner"));
    }
    let h = &mut *(data as *mut Handle);
    if h.magic != MAGIC {
        return Err(type_error("the handle is not a native scanner"));
    }
    Ok(h)
}

/// A typed array's memory: its start and its length in elements of `T`.
struct Raw<T> {
    data: *mut T,
    len: usize,
}

impl<T> Raw<T> {
    fn bytes(&self) -> std::ops::Range<usize> {
        let start = self.data as usize;
        start..start + self.len * std::mem::size_of::<T>()
    }

    /// The elements, read-only. They alias JavaScript memory, used only within the call (JavaScript cannot run).
    unsafe fn shared<'a>(&self) -> &'a [T] {
        if self.len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(self.data, self.len)
        }
    }

    /// The elements, writable: only for an array that overlaps no other array of the call (see `disjoint`).
    unsafe fn exclusive<'a>(&self) -> &'a mut [T] {
        if self.len == 0 {
            &mut []
        } else {
            std::slice::from_raw_parts_mut(self.data, self.len)
        }
    }
}

unsafe fn typed<T>(env: napi_env, value: napi_value, kind: i32, what: &str) -> Result<Raw<T>, Thrown> {
    let mut actual = -1;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    let status =
        napi_get_typedarray_info(env, value, &mut actual, &mut len, &mut data, ptr::null_mut(), ptr::null_mut());
    if status != NAPI_OK || actual != kind {
        return Err(type_error(format!("{what} has the wrong type")));
    }
    if data.is_null() {
        len = 0;
    }
    Ok(Raw { data: data as *mut T, len })
}

/// Refuses arrays whose memory overlaps: a writable one must be the only view of its bytes.
fn disjoint(arrays: &[(std::ops::Range<usize>, &str)]) -> Result<(), Thrown> {
    for (i, (a, an)) in arrays.iter().enumerate() {
        for (b, bn) in &arrays[i + 1..] {
            if !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end {
                return Err(type_error(format!("{an} and {bn} share memory")));
            }
        }
    }
    Ok(())
}

unsafe fn undefined(env: napi_env) -> napi_value {
    let mut v = ptr::null_mut();
    napi_get_undefined(env, &mut v);
    v
}

unsafe extern "C" fn finalize(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        drop(Box::from_raw(data as *mut Handle));
    }
}

unsafe extern "C" fn create(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, || {
        let [ints, blob, sizes] = args::<3>(env, info)?;
        let ints = typed::<i32>(env, ints, INT32_ARRAY, "ints")?.shared();
        let blob = typed::<u8>(env, blob, UINT8_ARRAY, "blob")?.shared();
        let sizes = typed::<f64>(env, sizes, FLOAT64_ARRAY, "sizes")?.shared();
        let cfg = Config::decode(ints, blob, sizes).map_err(|m| Thrown("ERR_S3C_NATIVE_CONFIG", m, false))?;
        let raw = Box::into_raw(Box::new(Handle { magic: MAGIC, scanner: Scanner::new(cfg) }));
        let mut v = ptr::null_mut();
        if napi_create_external(env, raw as *mut c_void, finalize, ptr::null_mut(), &mut v) != NAPI_OK {
            drop(Box::from_raw(raw));
            return Err(Thrown("ERR_S3C_NATIVE", "could not create a scanner".into(), false));
        }
        // The external owns the handle now (its finalizer frees it), whatever happens next.
        if napi_type_tag_object(env, v, &HANDLE_TAG) != NAPI_OK {
            return Err(Thrown("ERR_S3C_NATIVE", "could not tag the scanner handle".into(), false));
        }
        Ok(v)
    })
}

unsafe extern "C" fn add_class(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, || {
        let [h, bytes, index] = args::<3>(env, info)?;
        let h = handle(env, h)?;
        let bytes = typed::<u8>(env, bytes, UINT8_ARRAY, "bytes")?.shared();
        let index = typed::<i32>(env, index, INT32_ARRAY, "index")?.shared();
        let i = *index.first().ok_or_else(|| type_error("index is empty"))?;
        if i < 0 {
            return Err(type_error("index is negative"));
        }
        h.scanner.add_class(bytes, i as usize);
        Ok(undefined(env))
    })
}

unsafe extern "C" fn scan(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, || {
        let [h, chunk, out, state, totals] = args::<5>(env, info)?;
        let h = handle(env, h)?;
        let chunk = typed::<u8>(env, chunk, UINT8_ARRAY, "chunk")?;
        let out = typed::<u8>(env, out, UINT8_ARRAY, "out")?;
        let state = typed::<f64>(env, state, FLOAT64_ARRAY, "state")?;
        let totals = typed::<f64>(env, totals, FLOAT64_ARRAY, "totals")?;
        disjoint(&[(chunk.bytes(), "chunk"), (out.bytes(), "out"), (state.bytes(), "state"), (totals.bytes(), "totals")])?;
        let (chunk, out, state, totals) = (chunk.shared(), out.exclusive(), state.exclusive(), totals.exclusive());
        if state.len() < 8 {
            return Err(type_error("state must hold 8 numbers"));
        }
        let index = |v: f64, max: usize, what: &str| -> Result<usize, Thrown> {
            if v >= 0.0 && v <= max as f64 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(Thrown("ERR_OUT_OF_RANGE", format!("{what} {v} is out of range (0..{max})"), false))
            }
        };
        let end = index(state[1], chunk.len(), "end")?;
        let pos = index(state[0], end, "position")?;
        let out_pos = index(state[2], out.len(), "output position")?;
        let (stop, p) = h.scanner.scan(&chunk[..end], pos, out, out_pos, state[3], totals);
        state[0] = p.pos as f64;
        state[2] = p.out_pos as f64;
        state[4] = p.rows_scanned as f64;
        state[5] = p.rows_selected as f64;
        state[6] = p.out_rows as f64;
        let mut v = ptr::null_mut();
        napi_create_uint32(env, stop as u32, &mut v);
        Ok(v)
    })
}

unsafe extern "C" fn finalize_gunzip(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        drop(Box::from_raw(data as *mut GunzipHandle));
    }
}

unsafe extern "C" fn gunzip_create(env: napi_env, _info: napi_callback_info) -> napi_value {
    guard(env, || {
        let gunzip = Gunzip::new().map_err(|e| Thrown(e.code, e.message, false))?;
        let raw = Box::into_raw(Box::new(GunzipHandle { magic: GUNZIP_MAGIC, gunzip }));
        let mut v = ptr::null_mut();
        if napi_create_external(env, raw as *mut c_void, finalize_gunzip, ptr::null_mut(), &mut v) != NAPI_OK {
            drop(Box::from_raw(raw));
            return Err(Thrown("ERR_S3C_NATIVE", "could not create an inflater".into(), false));
        }
        if napi_type_tag_object(env, v, &GUNZIP_TAG) != NAPI_OK {
            return Err(Thrown("ERR_S3C_NATIVE", "could not tag the inflater handle".into(), false));
        }
        Ok(v)
    })
}

unsafe fn gunzip_handle<'a>(env: napi_env, value: napi_value) -> Result<&'a mut GunzipHandle, Thrown> {
    let mut tagged = false;
    if napi_check_object_type_tag(env, value, &GUNZIP_TAG, &mut tagged) != NAPI_OK || !tagged {
        return Err(type_error("the handle is not a native inflater"));
    }
    let mut data: *mut c_void = ptr::null_mut();
    if napi_get_value_external(env, value, &mut data) != NAPI_OK || data.is_null() {
        return Err(type_error("the handle is not a native inflater"));
    }
    let h = &mut *(data as *mut GunzipHandle);
    if h.magic != GUNZIP_MAGIC {
        return Err(type_error("the handle is not a native inflater"));
    }
    Ok(h)
}

unsafe extern "C" fn gunzip(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, || {
        let [h, input, out, state] = args::<4>(env, info)?;
        let h = gunzip_handle(env, h)?;
        let input = typed::<u8>(env, input, UINT8_ARRAY, "input")?;
        let out = typed::<u8>(env, out, UINT8_ARRAY, "out")?;
        let state = typed::<f64>(env, state, FLOAT64_ARRAY, "state")?;
        disjoint(&[(input.bytes(), "input"), (out.bytes(), "out"), (state.bytes(), "state")])?;
        let (input, out, state) = (input.shared(), out.exclusive(), state.exclusive());
        if state.len() < 4 {
            return Err(type_error("state must hold 4 numbers"));
        }
        let index = |v: f64, max: usize, what: &str| -> Result<usize, Thrown> {
            if v >= 0.0 && v <= max as f64 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(Thrown("ERR_OUT_OF_RANGE", format!("{what} {v} is out of range (0..{max})"), false))
            }
        };
        let end = index(state[1], input.len(), "end")?;
        let mut pos = index(state[0], end, "position")?;
        let mut out_pos = index(state[2], out.len(), "output position")?;
        let result = h.gunzip.run(&input[..end], &mut pos, out, &mut out_pos);
        state[0] = pos as f64;
        state[2] = out_pos as f64;
        state[3] = if h.gunzip.ended { 1.0 } else { 0.0 };
        let stop = result.map_err(|e| Thrown(e.code, e.message, false))?;
        let mut v = ptr::null_mut();
        napi_create_uint32(env, stop as u32, &mut v);
        Ok(v)
    })
}

unsafe fn export(env: napi_env, exports: napi_value, name: &str, cb: napi_callback) {
    let cname = CString::new(name).unwrap_or_default();
    let mut f = ptr::null_mut();
    if napi_create_function(env, cname.as_ptr(), name.len(), cb, ptr::null_mut(), &mut f) == NAPI_OK {
        napi_set_named_property(env, exports, cname.as_ptr(), f);
    }
}

/// The module entry Node looks up when it loads the `.node` file (once per thread that loads it).
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    export(env, exports, "create", create);
    export(env, exports, "addClass", add_class);
    export(env, exports, "scan", scan);
    export(env, exports, "gunzipCreate", gunzip_create);
    export(env, exports, "gunzip", gunzip);
    exports
}
