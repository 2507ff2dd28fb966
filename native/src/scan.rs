//! The inventory CSV row scanner: the common rows of `CsvScanner.parse` and `CsvScanner.row`
//! (src/inventory/csv-scanner.ts), byte for byte the same result, several times faster.
//!
//! It handles a row only when the row is in the shape S3 writes (every value quoted, no `""`, LF line end) and
//! needs nothing beyond byte comparisons. It stops *before* any other row, without touching a counter or the
//! output, and the JavaScript scanner handles that one row and calls back in. Rows it leaves to JavaScript:
//! other shapes (escaped quotes, CRLF, unquoted values, a wrong number of values), a size that is not plain
//! digits, a LastModifiedDate not in the canonical 24-character form, a key that is not plain ASCII when a key
//! filter needs its decoded form or a key that must be re-encoded, a storage class it has not been told about,
//! and a key that may enter the sample.

/// Why `scan` returned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stop {
    /// Every complete row is done; `pos` is where the first incomplete row starts (or the end).
    NeedMore = 0,
    /// The row at `pos` is for JavaScript.
    Hard = 1,
    /// The output has no room for the row at `pos`: hand the output on and call again.
    OutputFull = 2,
}

/// What `scan` did: counts are for this call only.
#[derive(Default, Debug)]
pub struct Progress {
    pub pos: usize,
    pub out_pos: usize,
    pub rows_scanned: u64,
    pub rows_selected: u64,
    pub out_rows: u64,
}

/// The filter and output columns, decoded from the JavaScript plan (see `Config::decode`).
#[derive(Debug, Default)]
pub struct Config {
    pub ncol: usize,
    pub bucket: usize,
    pub key: usize,
    pub version_id: Option<usize>,
    pub size: Option<usize>,
    pub storage_class: Option<usize>,
    pub last_modified: Option<usize>,
    pub is_latest: Option<usize>,
    pub is_delete_marker: Option<usize>,
    /// (column, upper-case values): the value must equal one of them, ASCII case-insensitively.
    pub enums: Vec<(usize, Vec<Vec<u8>>)>,
    pub min_size: Option<f64>,
    pub max_size: Option<f64>,
    /// Canonical ISO bounds: `after` inclusive, `before` exclusive.
    pub after: Option<Vec<u8>>,
    pub before: Option<Vec<u8>>,
    /// Key prefixes and suffixes (UTF-8), any of which must match the decoded key.
    pub prefixes: Option<Vec<Vec<u8>>>,
    pub suffixes: Option<Vec<Vec<u8>>>,
}

const QUOTE: u8 = b'"';
const COMMA: u8 = b',';
const LF: u8 = b'\n';
/// Sizes above this are not exact in a JavaScript number: JavaScript parses them.
const MAX_EXACT: u64 = 1 << 53;

const NOT_PLAIN: u8 = 1;
const NOT_PASSTHROUGH: u8 = 2;

/// What each key byte is: plain (0), carried through but encoded (`%`, `+`: NOT_PLAIN), or never carried
/// through unchanged (NOT_PASSTHROUGH; the same bytes as `NOT_PASSTHROUGH` in key-encoding.ts).
static KEY_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut x = 0;
    while x < 256 {
        let b = x as u8;
        t[x] = if b <= 0x20 || b >= 0x7f || b == b',' || b == b'"' {
            NOT_PASSTHROUGH | NOT_PLAIN
        } else if b == b'%' || b == b'+' {
            NOT_PLAIN
        } else {
            0
        };
        x += 1;
    }
    t
};

/// MurmurHash3 (x86, 32-bit, seed 0) of `key`: the sample's hash, as `murmur3` in scan-output.ts computes it.
pub fn murmur3(key: &[u8]) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mix = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    let mut h = 0u32;
    let words = key.chunks_exact(4);
    let tail = words.remainder();
    for w in words {
        h ^= mix(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    if !tail.is_empty() {
        let k = tail.iter().enumerate().fold(0u32, |k, (i, &x)| k | u32::from(x) << (8 * i));
        h ^= mix(k);
    }
    h ^= key.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Read config values: a cursor over the integer array with bounds checks.
struct Ints<'a> {
    ints: &'a [i32],
    at: usize,
}

impl Ints<'_> {
    fn next(&mut self) -> Result<i32, String> {
        let v = *self.ints.get(self.at).ok_or("the scan config is too short")?;
        self.at += 1;
        Ok(v)
    }

    fn column(&mut self, ncol: usize) -> Result<Option<usize>, String> {
        let v = self.next()?;
        if v < 0 {
            return Ok(None);
        }
        let c = v as usize;
        if c >= ncol {
            return Err(format!("column {c} is out of range (the schema has {ncol})"));
        }
        Ok(Some(c))
    }

    fn bytes(&mut self, blob: &[u8]) -> Result<Vec<u8>, String> {
        let (off, len) = (self.next()?, self.next()?);
        if off < 0 || len < 0 || off as usize + len as usize > blob.len() {
            return Err("a scan config string is out of range".into());
        }
        Ok(blob[off as usize..off as usize + len as usize].to_vec())
    }

    fn list(&mut self, blob: &[u8]) -> Result<Option<Vec<Vec<u8>>>, String> {
        let n = self.next()?;
        if n < 0 {
            return Ok(None);
        }
        (0..n).map(|_| self.bytes(blob)).collect::<Result<Vec<_>, _>>().map(Some)
    }
}

/// More columns than any inventory schema has (S3 defines about twenty fields); bounds the scanner's allocations.
const MAX_COLUMNS: i32 = 1024;

/// Layout version of the integer config; `native-scan.ts` writes the same number first.
pub const CONFIG_VERSION: i32 = 1;

impl Config {
    /// Decodes the config `encodePlan` in native-scan.ts writes: integers (columns, counts, string offsets into
    /// `blob`) and the size bounds (NaN for none).
    pub fn decode(ints: &[i32], blob: &[u8], sizes: &[f64]) -> Result<Config, String> {
        let mut r = Ints { ints, at: 0 };
        if r.next()? != CONFIG_VERSION {
            return Err("the scan config is from another version; rebuild the native addon (npm run setup)".into());
        }
        let ncol = r.next()?;
        if !(1..=MAX_COLUMNS).contains(&ncol) {
            return Err(format!("the scan config has {ncol} columns (1 to {MAX_COLUMNS} are allowed)"));
        }
        let ncol = ncol as usize;
        let bucket = r.column(ncol)?.ok_or("the scan config has no Bucket column")?;
        let key = r.column(ncol)?.ok_or("the scan config has no Key column")?;
        let mut cfg = Config {
            ncol,
            bucket,
            key,
            version_id: r.column(ncol)?,
            size: r.column(ncol)?,
            storage_class: r.column(ncol)?,
            last_modified: r.column(ncol)?,
            is_latest: r.column(ncol)?,
            is_delete_marker: r.column(ncol)?,
            ..Config::default()
        };
        let nenums = r.next()?;
        for _ in 0..nenums.max(0) {
            let col = r.column(ncol)?.ok_or("an enum condition has no column")?;
            let values = r.list(blob)?.unwrap_or_default();
            cfg.enums.push((col, values));
        }
        let after = r.list(blob)?;
        cfg.after = after.and_then(|mut v| v.pop());
        let before = r.list(blob)?;
        cfg.before = before.and_then(|mut v| v.pop());
        cfg.prefixes = r.list(blob)?;
        cfg.suffixes = r.list(blob)?;
        let size = |i: usize| sizes.get(i).copied().filter(|v| !v.is_nan());
        cfg.min_size = size(0);
        cfg.max_size = size(1);
        Ok(cfg)
    }
}

/// Positions of the quotes and line ends in `b` from some offset on, in order. They are dense (a dozen per row), so
/// they are found 64 bytes at a time as a bit mask (SSE2 compares on x86-64), then read off bit by bit.
struct Marks<'a> {
    b: &'a [u8],
    /// Start of the block `mask` covers.
    base: usize,
    mask: u64,
}

impl<'a> Marks<'a> {
    fn new(b: &'a [u8], from: usize) -> Marks<'a> {
        Marks { b, base: from, mask: block_mask(b, from) }
    }

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.mask != 0 {
                let bit = self.mask.trailing_zeros() as usize;
                self.mask &= self.mask - 1;
                return Some(self.base + bit);
            }
            self.base += 64;
            if self.base >= self.b.len() {
                return None;
            }
            self.mask = block_mask(self.b, self.base);
        }
    }
}

/// Bit i set when `b[at + i]` is a quote or a line end (i < 64; bits past the end of `b` are clear).
#[inline]
fn block_mask(b: &[u8], at: usize) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if at + 64 <= b.len() {
        // SAFETY: SSE2 is part of x86-64; the four 16-byte loads read b[at..at + 64], which is in bounds.
        unsafe {
            use std::arch::x86_64::*;
            let quote = _mm_set1_epi8(QUOTE as i8);
            let lf = _mm_set1_epi8(LF as i8);
            let mut mask = 0u64;
            for k in 0..4 {
                let v = _mm_loadu_si128(b.as_ptr().add(at + 16 * k) as *const __m128i);
                let hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, lf));
                mask |= u64::from(_mm_movemask_epi8(hit) as u16) << (16 * k);
            }
            return mask;
        }
    }
    block_mask_scalar(b, at)
}

fn block_mask_scalar(b: &[u8], at: usize) -> u64 {
    let end = b.len().min(at + 64);
    let mut mask = 0u64;
    for (i, &x) in b[at.min(end)..end].iter().enumerate() {
        if x == QUOTE || x == LF {
            mask |= 1 << i;
        }
    }
    mask
}

/// The scanner of one data file: its config and the storage classes JavaScript has registered.
pub struct Scanner {
    cfg: Config,
    /// (class bytes, index in JavaScript's ScanStats)
    classes: Vec<(Vec<u8>, usize)>,
    last_class: usize,
    starts: Vec<usize>,
    ends: Vec<usize>,
}

enum Row {
    Rejected,
    Selected,
    Hard,
    OutputFull,
}

fn is_true(v: &[u8]) -> bool {
    v.len() == 4 && (v[0] == b't' || v[0] == b'T')
}

fn matches_any(v: &[u8], values: &[Vec<u8>]) -> bool {
    values.iter().any(|val| val.len() == v.len() && val.iter().zip(v).all(|(a, &x)| *a == x.to_ascii_uppercase()))
}

impl Scanner {
    pub fn new(cfg: Config) -> Scanner {
        let n = cfg.ncol;
        Scanner { cfg, classes: Vec::new(), last_class: 0, starts: vec![0; n], ends: vec![0; n] }
    }

    /// JavaScript counts a storage class (`bytes`) at `index` of its totals: add this scanner's rows there from now on.
    pub fn add_class(&mut self, bytes: &[u8], index: usize) {
        if !self.classes.iter().any(|(b, _)| b == bytes) {
            self.classes.push((bytes.to_vec(), index));
        }
    }

    /// Handles rows of `b` from `pos`, writing selected rows to `out` from `out_pos`. `threshold` is the largest
    /// key hash that may enter the sample (negative: none may). `class_totals` holds the running (bytes, rows) per
    /// class index, which selected rows are added to.
    pub fn scan(
        &mut self,
        b: &[u8],
        pos: usize,
        out: &mut [u8],
        out_pos: usize,
        threshold: f64,
        class_totals: &mut [f64],
    ) -> (Stop, Progress) {
        let mut p = Progress { pos, out_pos, ..Progress::default() };
        let ncol = self.cfg.ncol;
        // One pass over the quotes and line ends of the whole chunk: a row in the S3 shape is exactly
        // `"`, then per value a closing `"` followed by `,"` (or by the line end after the last value).
        let mut marks = Marks::new(b, pos);
        'rows: while p.pos < b.len() {
            if b[p.pos] != QUOTE {
                return (Stop::Hard, p);
            }
            let mut c = 0;
            let mut expect_open = p.pos;
            let nl = loop {
                let Some(x) = marks.next() else {
                    return (Stop::NeedMore, p);
                };
                if b[x] == LF {
                    if expect_open != usize::MAX || c != ncol {
                        break 'rows;
                    }
                    break x;
                }
                if expect_open != usize::MAX {
                    if x != expect_open {
                        break 'rows;
                    }
                    self.starts[c] = x + 1;
                    expect_open = usize::MAX;
                    continue;
                }
                self.ends[c] = x;
                c += 1;
                match b.get(x + 1) {
                    Some(&COMMA) if c < ncol => expect_open = x + 2,
                    Some(&LF) if c == ncol => {}
                    // The row may go on in the next chunk; JavaScript sorts that out.
                    None => return (Stop::NeedMore, p),
                    _ => break 'rows,
                }
            };
            match self.row(b, out, &mut p.out_pos, threshold, class_totals) {
                Row::Hard => return (Stop::Hard, p),
                Row::OutputFull => return (Stop::OutputFull, p),
                Row::Rejected => {}
                Row::Selected => {
                    p.rows_selected += 1;
                    p.out_rows += 1;
                }
            }
            p.rows_scanned += 1;
            p.pos = nl + 1;
        }
        if p.pos >= b.len() {
            return (Stop::NeedMore, p);
        }
        (Stop::Hard, p)
    }

    fn value<'a>(&self, b: &'a [u8], c: usize) -> &'a [u8] {
        &b[self.starts[c]..self.ends[c]]
    }

    fn row(&mut self, b: &[u8], out: &mut [u8], out_pos: &mut usize, threshold: f64, totals: &mut [f64]) -> Row {
        let cfg = &self.cfg;
        // Same order of conditions as CsvScanner.row, so a row JavaScript would reject early stays rejected here.
        if let Some(c) = cfg.is_delete_marker {
            if is_true(self.value(b, c)) {
                return Row::Rejected;
            }
        }
        if let Some(c) = cfg.is_latest {
            if !is_true(self.value(b, c)) {
                return Row::Rejected;
            }
        }
        for (c, values) in &cfg.enums {
            if !matches_any(self.value(b, *c), values) {
                return Row::Rejected;
            }
        }
        let mut size: u64 = 0;
        if let Some(c) = cfg.size {
            for &x in self.value(b, c) {
                if !x.is_ascii_digit() {
                    return Row::Hard;
                }
                size = size * 10 + u64::from(x - b'0');
                if size > MAX_EXACT {
                    return Row::Hard;
                }
            }
            let s = size as f64;
            if cfg.min_size.is_some_and(|m| s < m) || cfg.max_size.is_some_and(|m| s > m) {
                return Row::Rejected;
            }
        }
        if let Some(c) = cfg.last_modified {
            let v = self.value(b, c);
            if v.is_empty() {
                return Row::Rejected;
            }
            // Bounds of another length (years past 9999) are compared the way JavaScript does it, there.
            if v.len() != 24 || v[23] != b'Z' || cfg.after.as_ref().is_some_and(|a| a.len() != 24)
                || cfg.before.as_ref().is_some_and(|a| a.len() != 24)
            {
                return Row::Hard;
            }
            if cfg.after.as_deref().is_some_and(|a| v < a) || cfg.before.as_deref().is_some_and(|bf| v >= bf) {
                return Row::Rejected;
            }
        }
        let key = self.value(b, cfg.key);
        let class = key.iter().fold(0u8, |acc, &x| acc | KEY_BYTES[usize::from(x)]);
        if class & NOT_PASSTHROUGH != 0 {
            return Row::Hard;
        }
        let h = murmur3(key);
        if cfg.prefixes.is_some() || cfg.suffixes.is_some() {
            // Plain keys (printable ASCII without `%` or `+`) decode to their own bytes.
            if class != 0 {
                return Row::Hard;
            }
            if cfg.prefixes.as_ref().is_some_and(|ps| !ps.iter().any(|p| key.starts_with(p)))
                || cfg.suffixes.as_ref().is_some_and(|ss| !ss.iter().any(|s| key.ends_with(s)))
            {
                return Row::Rejected;
            }
        }
        if f64::from(h) <= threshold {
            return Row::Hard;
        }
        let class: &[u8] = match cfg.storage_class {
            Some(c) => self.value(b, c),
            None => &[],
        };
        let slot = match self.classes.get(self.last_class) {
            Some((bytes, i)) if bytes.as_slice() == class => *i,
            _ => match self.classes.iter().position(|(bytes, _)| bytes.as_slice() == class) {
                Some(k) => {
                    self.last_class = k;
                    self.classes[k].1
                }
                None => return Row::Hard,
            },
        };
        if slot * 2 + 1 >= totals.len() {
            return Row::Hard;
        }
        let bucket = self.value(b, cfg.bucket);
        let version: &[u8] = match cfg.version_id {
            Some(c) if self.ends[c] > self.starts[c] => self.value(b, c),
            Some(_) => b"null",
            None => &[],
        };
        let need = bucket.len() + 1 + key.len() + 1 + if cfg.version_id.is_some() { version.len() + 1 } else { 0 };
        if out.len() - *out_pos < need {
            return Row::OutputFull;
        }
        let mut o = *out_pos;
        for part in [bucket, b",", key] {
            out[o..o + part.len()].copy_from_slice(part);
            o += part.len();
        }
        if cfg.version_id.is_some() {
            out[o] = COMMA;
            out[o + 1..o + 1 + version.len()].copy_from_slice(version);
            o += 1 + version.len();
        }
        out[o] = LF;
        *out_pos = o + 1;
        totals[slot * 2] += size as f64;
        totals[slot * 2 + 1] += 1.0;
        Row::Selected
    }
}
