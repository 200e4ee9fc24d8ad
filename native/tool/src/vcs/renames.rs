//! git's rename and copy detection (diffcore-rename), ported so `git_status` agrees with git.
//!
//! libgit2's own rename detection disagrees with git's (another similarity measure, no symlink
//! renames, type changes used as sources), so its flags stay off and this port runs instead:
//!
//! 1. exact renames: same blob id (and, for symlinks and submodules, the same mode); among equal
//!    candidates the first unused source with the same file name wins, else the first unused one;
//! 2. (renames only) files whose name is unique on both sides are paired when they are at least
//!    75 % similar (half-way between the minimum score and 100 %);
//! 3. the remaining destinations are scored against the remaining sources — unless there are
//!    more than `rename_limit`² pairs — keeping the 4 best sources per destination, and the pairs
//!    are taken best first while their score reaches 50 %.
//!
//! Similarity is git's `diffcore_count_changes`: content is cut into chunks ending at a newline
//! or after 64 bytes, each chunk hashed into one of 107,927 buckets; the score is the number of
//! source bytes found again in the destination over the larger of the two sizes (60,000 =
//! identical). Twin: `ironcode/twin/vcs_renames.py`.

use std::cell::OnceCell;
use std::collections::HashMap;

use git2::{ObjectType, Oid};

/// git's scale for similarity scores: 60,000 is "identical".
pub const MAX_SCORE: u32 = 60000;
/// The default minimum score for a rename (git's -M50%).
pub const DEFAULT_RENAME_SCORE: u32 = 30000;
/// How many best sources the inexact matrix keeps per destination.
pub const NUM_CANDIDATES_PER_DST: usize = 4;
/// How many identical sources an exact match looks at before it settles.
pub const EXACT_CANDIDATE_LIMIT: usize = 100;
/// Name-based pairing needs a score this far from the minimum towards 100 %.
pub const BASENAME_SCORE_FACTOR: f64 = 0.5;
/// The prime number of hash buckets chunks are counted in.
pub const HASHBASE: u32 = 107927;
/// A chunk ends at a newline or after this many bytes.
pub const CHUNK_MAX_BYTES: u64 = 64;
/// Content with a NUL byte in its first 8,000 bytes is binary (CR before LF then counts).
pub const BINARY_SNIFF_BYTES: usize = 8000;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;

/// Rename detection modes (git's diff.renames / status.renames).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detect {
    Off,
    Renames,
    Copies,
}

/// One side of a pair: a blob id (None: hash the content when needed), a mode, and a loader.
pub struct FileSpec<'a> {
    pub path: Vec<u8>,
    pub mode: u32,
    oid: OnceCell<Oid>,
    load: Box<dyn Fn() -> Vec<u8> + 'a>,
    data: OnceCell<Vec<u8>>,
    counts: OnceCell<HashMap<u32, u64>>,
}

impl<'a> FileSpec<'a> {
    /// A side with a known blob id (`None`: computed from the content on first use).
    pub fn new(
        path: Vec<u8>,
        mode: u32,
        oid: Option<Oid>,
        load: impl Fn() -> Vec<u8> + 'a,
    ) -> Self {
        let cell = OnceCell::new();
        if let Some(oid) = oid {
            let _ = cell.set(oid);
        }
        FileSpec {
            path,
            mode,
            oid: cell,
            load: Box::new(load),
            data: OnceCell::new(),
            counts: OnceCell::new(),
        }
    }

    fn data(&self) -> &[u8] {
        self.data.get_or_init(|| (self.load)())
    }

    fn blob_id(&self) -> Oid {
        *self.oid.get_or_init(|| blob_hash(self.data()))
    }

    fn counts(&self) -> &HashMap<u32, u64> {
        self.counts.get_or_init(|| span_hashes(self.data()))
    }
}

/// A changed path: `one` is the old side (None: created), `two` the new (None: deleted).
/// `letter` is the status the pair shows unless it becomes a rename or copy (A D M T).
pub struct Pair<'a> {
    pub letter: char,
    pub path: Vec<u8>,
    pub one: Option<FileSpec<'a>>,
    pub two: Option<FileSpec<'a>>,
    /// How many renames or copies use `one` as their source.
    rename_used: usize,
    /// The pair whose `one` this created file was renamed or copied from.
    source: Option<usize>,
    score: u32,
}

impl<'a> Pair<'a> {
    /// A changed path for [`detect_renames`].
    pub fn new(
        letter: char,
        path: Vec<u8>,
        one: Option<FileSpec<'a>>,
        two: Option<FileSpec<'a>>,
    ) -> Self {
        Pair {
            letter,
            path,
            one,
            two,
            rename_used: 0,
            source: None,
            score: 0,
        }
    }

    fn one(&self) -> &FileSpec<'a> {
        self.one
            .as_ref()
            .expect("rename sources always have an old side")
    }

    fn two(&self) -> &FileSpec<'a> {
        self.two
            .as_ref()
            .expect("rename destinations always have a new side")
    }
}

/// One line of the result: `letter` is A D M T R or C; `orig_path` and `similarity` (percent)
/// are set for renames and copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub letter: char,
    pub path: Vec<u8>,
    pub orig_path: Option<Vec<u8>>,
    pub similarity: Option<u32>,
}

/// The git blob id of `data`.
pub fn blob_hash(data: &[u8]) -> Oid {
    Oid::hash_object(ObjectType::Blob, data).unwrap_or(Oid::ZERO_SHA1)
}

fn is_regular(mode: u32) -> bool {
    mode & S_IFMT == S_IFREG
}

/// Bucket -> bytes: chunks end at a newline, after 64 bytes, or at the end; in text, a CR right
/// before a LF is skipped.
pub fn span_hashes(data: &[u8]) -> HashMap<u32, u64> {
    let is_text = !data[..data.len().min(BINARY_SNIFF_BYTES)].contains(&0);
    let mut counts: HashMap<u32, u64> = HashMap::new();
    let (mut accum1, mut accum2, mut n) = (0u32, 0u32, 0u64);
    for (i, &byte) in data.iter().enumerate() {
        if is_text && byte == b'\r' && data.get(i + 1) == Some(&b'\n') {
            continue;
        }
        let c = u32::from(byte);
        let old1 = accum1;
        accum1 = (accum1 << 7) ^ (accum2 >> 25);
        accum2 = (accum2 << 7) ^ (old1 >> 25);
        accum1 = accum1.wrapping_add(c);
        n += 1;
        if n < CHUNK_MAX_BYTES && byte != b'\n' {
            continue;
        }
        let bucket = accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE;
        *counts.entry(bucket).or_insert(0) += n;
        (accum1, accum2, n) = (0, 0, 0);
    }
    if n > 0 {
        let bucket = accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE;
        *counts.entry(bucket).or_insert(0) += n;
    }
    counts
}

/// Bytes of the source found again in the destination, bucket by bucket.
pub fn count_copied(src: &HashMap<u32, u64>, dst: &HashMap<u32, u64>) -> u64 {
    let (small, large) = if dst.len() < src.len() {
        (dst, src)
    } else {
        (src, dst)
    };
    small
        .iter()
        .filter_map(|(bucket, count)| large.get(bucket).map(|other| (*count).min(*other)))
        .sum()
}

/// git's similarity score (0..60000) of two regular files; 0 for anything else or for sizes too
/// different to ever reach `minimum_score`.
pub fn estimate_similarity(src: &FileSpec, dst: &FileSpec, minimum_score: u32) -> u32 {
    if !is_regular(src.mode) || !is_regular(dst.mode) {
        return 0;
    }
    let src_size = src.data().len() as u64;
    let dst_size = dst.data().len() as u64;
    let max_size = src_size.max(dst_size);
    let delta_size = max_size - src_size.min(dst_size);
    // git compares in floating point (MAX_SCORE is a double there); so do we, to agree at the edges.
    let max_score = f64::from(MAX_SCORE);
    if (max_size as f64) * (max_score - f64::from(minimum_score)) < (delta_size as f64) * max_score
    {
        return 0;
    }
    if dst_size == 0 {
        return 0;
    }
    let copied = count_copied(src.counts(), dst.counts());
    (copied as f64 * max_score / max_size as f64) as u32
}

fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}

fn same_basename(a: &[u8], b: &[u8]) -> bool {
    basename(a) == basename(b)
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    score: u32,
    name_score: u32,
    dst: usize,
    src: usize,
}

/// True when `a` sorts after `b` (git's score_compare(a, b) > 0); empty slots sort last.
fn worse(a: Option<&Candidate>, b: Option<&Candidate>) -> bool {
    match (a, b) {
        (None, b) => b.is_some(),
        (Some(_), None) => false,
        (Some(a), Some(b)) if a.score == b.score => a.name_score < b.name_score,
        (Some(a), Some(b)) => a.score < b.score,
    }
}

fn record_if_better(slots: &mut [Option<Candidate>], candidate: Candidate) {
    let mut worst = 0;
    for i in 1..NUM_CANDIDATES_PER_DST {
        if worse(slots[i].as_ref(), slots[worst].as_ref()) {
            worst = i;
        }
    }
    if worse(slots[worst].as_ref(), Some(&candidate)) {
        slots[worst] = Some(candidate);
    }
}

fn record_rename(pairs: &mut [Pair], dst: usize, src: usize, score: u32) {
    pairs[src].rename_used += 1;
    pairs[dst].source = Some(src);
    pairs[dst].score = score;
}

fn find_exact_renames(
    pairs: &mut [Pair],
    dsts: &[usize],
    srcs: &[usize],
    want_copies: bool,
) -> usize {
    let mut by_blob: HashMap<Oid, Vec<usize>> = HashMap::new();
    for &src in srcs {
        by_blob
            .entry(pairs[src].one().blob_id())
            .or_default()
            .push(src);
    }
    let mut renames = 0;
    for &dst in dsts {
        let target = pairs[dst].two();
        let mut best: Option<usize> = None;
        let mut best_score = -1;
        let mut budget = EXACT_CANDIDATE_LIMIT;
        for &src in by_blob
            .get(&target.blob_id())
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let source = pairs[src].one();
            if (!is_regular(source.mode) || !is_regular(target.mode)) && source.mode != target.mode
            {
                continue;
            }
            let used = pairs[src].rename_used > 0;
            if used && !want_copies {
                continue;
            }
            let score = i32::from(!used) + i32::from(same_basename(&source.path, &target.path));
            if score > best_score {
                best = Some(src);
                best_score = score;
                if score == 2 {
                    break;
                }
            }
            budget -= 1;
            if budget == 0 {
                break;
            }
        }
        if let Some(src) = best {
            record_rename(pairs, dst, src, MAX_SCORE);
            renames += 1;
        }
    }
    renames
}

/// Pairs a source and a destination whose file name is unique on both sides, if similar.
fn find_basename_matches(
    pairs: &mut [Pair],
    dsts: &[usize],
    srcs: &[usize],
    minimum_score: u32,
) -> usize {
    let mut unique_src: HashMap<Vec<u8>, Option<usize>> = HashMap::new();
    for (i, &src) in srcs.iter().enumerate() {
        let name = basename(&pairs[src].path).to_vec();
        let seen = unique_src.contains_key(&name);
        unique_src.insert(name, if seen { None } else { Some(i) });
    }
    let mut unique_dst: HashMap<Vec<u8>, Option<usize>> = HashMap::new();
    for &dst in dsts {
        if pairs[dst].source.is_some() {
            continue;
        }
        let name = basename(&pairs[dst].path).to_vec();
        let seen = unique_dst.contains_key(&name);
        unique_dst.insert(name, if seen { None } else { Some(dst) });
    }
    let mut renames = 0;
    for (i, &src) in srcs.iter().enumerate() {
        let name = basename(&pairs[src].path);
        if unique_src.get(name).copied().flatten() != Some(i) {
            continue;
        }
        let Some(dst) = unique_dst.get(name).copied().flatten() else {
            continue;
        };
        let score = estimate_similarity(pairs[src].one(), pairs[dst].two(), minimum_score);
        if score < minimum_score {
            continue;
        }
        record_rename(pairs, dst, src, score);
        renames += 1;
    }
    renames
}

fn find_inexact_renames(
    pairs: &mut [Pair],
    dsts: &[usize],
    srcs: &[usize],
    minimum_score: u32,
    want_copies: bool,
) {
    let mut matrix: Vec<Option<Candidate>> = Vec::new();
    for &dst in dsts {
        if pairs[dst].source.is_some() {
            continue;
        }
        let mut slots = [None; NUM_CANDIDATES_PER_DST];
        for &src in srcs {
            let (one, two) = (pairs[src].one(), pairs[dst].two());
            let score = estimate_similarity(one, two, minimum_score);
            let name_score = u32::from(same_basename(&one.path, &two.path));
            record_if_better(
                &mut slots,
                Candidate {
                    score,
                    name_score,
                    dst,
                    src,
                },
            );
        }
        matrix.extend(slots);
    }
    // Stable, best first: git's STABLE_QSORT with score_compare.
    matrix.sort_by_key(|c| match c {
        None => (1, 0, 0),
        Some(c) => (0, u32::MAX - c.score, u32::MAX - c.name_score),
    });
    let rounds: &[bool] = if want_copies {
        &[false, true]
    } else {
        &[false]
    };
    for &copies in rounds {
        for candidate in &matrix {
            let Some(candidate) = candidate else { break };
            if candidate.score < minimum_score {
                break;
            }
            if pairs[candidate.dst].source.is_some() {
                continue;
            }
            if !copies && pairs[candidate.src].rename_used > 0 {
                continue;
            }
            record_rename(pairs, candidate.dst, candidate.src, candidate.score);
        }
    }
}

/// Resolves renames (and copies) among `pairs` — sorted by path, as git queues them — and
/// returns one change per remaining pair, in the same order.
pub fn detect_renames(mut pairs: Vec<Pair>, detect: Detect, rename_limit: i64) -> Vec<Change> {
    let want_copies = detect == Detect::Copies;
    let mut dsts = Vec::new();
    let mut srcs = Vec::new();
    if detect != Detect::Off {
        for (i, pair) in pairs.iter_mut().enumerate() {
            match (&pair.one, &pair.two) {
                (None, Some(_)) => dsts.push(i),
                (Some(_), None) => srcs.push(i),
                (Some(_), Some(_)) if want_copies => {
                    // A kept file is a copy source; counting it as a user makes every use a copy.
                    pair.rename_used += 1;
                    srcs.push(i);
                }
                _ => {}
            }
        }
    }
    if !dsts.is_empty() && !srcs.is_empty() {
        find_renames(&mut pairs, &dsts, srcs, want_copies, rename_limit);
    }
    resolve(pairs)
}

fn find_renames(
    pairs: &mut [Pair],
    dsts: &[usize],
    mut srcs: Vec<usize>,
    want_copies: bool,
    rename_limit: i64,
) {
    let minimum_score = DEFAULT_RENAME_SCORE;
    let mut rename_count = find_exact_renames(pairs, dsts, &srcs, want_copies);
    if !want_copies {
        srcs.retain(|&s| pairs[s].rename_used == 0);
        let basename_score =
            minimum_score + (BASENAME_SCORE_FACTOR * f64::from(MAX_SCORE - minimum_score)) as u32;
        rename_count += find_basename_matches(pairs, dsts, &srcs, basename_score);
        srcs.retain(|&s| pairs[s].rename_used == 0);
    }
    let num_destinations = dsts.len() - rename_count;
    if num_destinations == 0 || srcs.is_empty() {
        return;
    }
    if rename_limit > 0 {
        let pairs_to_score = (num_destinations as u128) * (srcs.len() as u128);
        let limit = rename_limit as u128;
        if pairs_to_score > limit * limit {
            return; // git skips inexact detection above the limit ("too many files")
        }
    }
    find_inexact_renames(pairs, dsts, &srcs, minimum_score, want_copies);
}

fn resolve(mut pairs: Vec<Pair>) -> Vec<Change> {
    // A deletion whose file was used by a rename or copy disappears: decided before the letters,
    // whose counting below uses up `rename_used`.
    let kept: Vec<usize> = (0..pairs.len())
        .filter(|&i| {
            !(pairs[i].two.is_none() && pairs[i].one.is_some() && pairs[i].rename_used > 0)
        })
        .collect();
    let mut out = Vec::with_capacity(kept.len());
    for i in kept {
        match (pairs[i].one.is_none(), pairs[i].source) {
            (true, Some(src)) => {
                // A source used N times: the first N-1 destinations (in path order) are copies,
                // the last one the rename — unless the source itself stays, which makes all of
                // them copies.
                pairs[src].rename_used -= 1;
                let letter = if pairs[src].rename_used > 0 { 'C' } else { 'R' };
                let similarity = (f64::from(pairs[i].score) * 100.0 / f64::from(MAX_SCORE)) as u32;
                out.push(Change {
                    letter,
                    path: pairs[i].path.clone(),
                    orig_path: Some(pairs[src].path.clone()),
                    similarity: Some(similarity),
                });
            }
            _ => out.push(Change {
                letter: pairs[i].letter,
                path: pairs[i].path.clone(),
                orig_path: None,
                similarity: None,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str, mode: u32, data: &'static [u8]) -> FileSpec<'static> {
        FileSpec::new(path.as_bytes().to_vec(), mode, None, move || data.to_vec())
    }

    #[test]
    fn trailing_partial_chunk_counts() {
        let counts = span_hashes(b"abc\nxy");
        assert_eq!(counts.values().sum::<u64>(), 6);
    }

    #[test]
    fn crlf_counts_like_lf_in_text_but_not_in_binary() {
        assert_eq!(span_hashes(b"a\r\nb\r\n"), span_hashes(b"a\nb\n"));
        assert_ne!(span_hashes(b"\0a\r\nb\r\n").values().sum::<u64>(), 5);
    }

    #[test]
    fn identical_files_score_max_and_symlinks_score_zero() {
        let a = spec("a", 0o100644, b"one\ntwo\n");
        let b = spec("b", 0o100644, b"one\ntwo\n");
        assert_eq!(estimate_similarity(&a, &b, DEFAULT_RENAME_SCORE), MAX_SCORE);
        let link = spec("l", 0o120000, b"one\ntwo\n");
        assert_eq!(estimate_similarity(&a, &link, DEFAULT_RENAME_SCORE), 0);
    }

    #[test]
    fn a_deleted_file_and_an_identical_new_one_become_a_rename() {
        let pairs = vec![
            Pair::new(
                'D',
                b"old".to_vec(),
                Some(spec("old", 0o100644, b"x\n")),
                None,
            ),
            Pair::new(
                'A',
                b"new".to_vec(),
                None,
                Some(spec("new", 0o100644, b"x\n")),
            ),
        ];
        let changes = detect_renames(pairs, Detect::Renames, 1000);
        assert_eq!(
            changes,
            vec![Change {
                letter: 'R',
                path: b"new".to_vec(),
                orig_path: Some(b"old".to_vec()),
                similarity: Some(100),
            }]
        );
    }
}
