//! The fuzz suite's harness (issue 34 item 7), shared by `tests/fuzz_*.rs`.
//!
//! Each surface draws its cases from a mutation table with a seeded ChaCha8
//! generator (one fixed seed per surface; `FUZZ_SEED=S` replaces it, and
//! every case `i` has its own stream, so `FUZZ_SEED=S FUZZ_ONLY=i` reruns one
//! case alone), runs each case as a child process (the `fsrgan` binary, or
//! the `.venv` Python) in its own temporary directory under a wall-clock
//! limit (the child's process group is killed on timeout: a **hang**), and
//! classifies what came back:
//!
//! | outcome | when | a failure? |
//! |---|---|---|
//! | `ok` | exit 0 on an input the case does not mark invalid | no |
//! | `refused` | non-zero exit, a message that names something of the case | no (unless the case is valid) |
//! | `crash` | a signal, exit 101 (panic), 134 (abort), 139 (segfault), or "panicked at" / "internal error" in the output | yes |
//! | `hang` | still running at the case's limit | yes |
//! | `accepted-invalid` | exit 0 on an input the case marks invalid | yes |
//! | `rejected-valid` | non-zero exit on a valid-by-construction input | yes |
//! | `unnamed-refusal` | non-zero exit whose message is empty or names nothing of the case | yes |
//!
//! `FUZZ_CASES=N` sets the cases per surface (default [`DEFAULT_CASES`], a
//! CI budget of well under 2 minutes for the whole suite on 2 cores). A
//! failing case whose mutation is listed in a surface's `KNOWN_OPEN` is
//! printed as a known open bug and does not fail the test; every other
//! failure does, with its seed, case index, input and output.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Cases per surface when `FUZZ_CASES` is unset.
pub const DEFAULT_CASES: usize = 15;

/// The fuzzed binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fsrgan"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the case's input is valid by construction, invalid, or either
/// (the outcome is then not judged by its exit status, only by no crash, no
/// hang and, when refused, a message that names the case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Must succeed (exit 0).
    Valid,
    /// Must be refused (non-zero exit with a naming message).
    Invalid,
    /// Either is fine.
    Either,
}

impl Expect {
    /// The expectation of a case made of several mutations: invalid if any
    /// is, valid if all are, else either.
    pub fn combine(items: &[Expect]) -> Expect {
        if items.contains(&Expect::Invalid) {
            Expect::Invalid
        } else if items.iter().all(|e| *e == Expect::Valid) {
            Expect::Valid
        } else {
            Expect::Either
        }
    }
}

/// One mutation of a surface's table: a stable identifier (what
/// `KNOWN_OPEN` lists), what it is in words, its expectation and the names
/// a refusal of it may give (any one is enough; matched case-insensitively).
#[derive(Debug, Clone)]
pub struct Mutation {
    /// Stable identifier, e.g. `dictionary.gamma=nan`.
    pub id: String,
    /// Valid, invalid or either.
    pub expect: Expect,
    /// Names a refusal may give: fields, files, arguments.
    pub names: Vec<String>,
}

impl Mutation {
    /// A mutation with the given id, expectation and names.
    /// A name of one or two characters (`k`, `m`, `n`, `d0`) would match
    /// almost any message: it is looked for quoted or indexed instead
    /// (`` `k` ``, `'k'`, `k[`, `k =`, `k_l`, `--k`, `` .k` `` as in
    /// `` `model.k` ``).
    pub fn new(id: impl Into<String>, expect: Expect, names: &[&str]) -> Mutation {
        let mut all = Vec::new();
        for n in names {
            if n.chars().count() <= 2 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                for form in [
                    "`{}`", "'{}'", "{}[", "{} =", "{}_l", "--{} ", "\"{}\"", ".{}`", ".{}'",
                    "{}.npy",
                ] {
                    all.push(form.replace("{}", n));
                }
            } else {
                all.push(n.to_string());
            }
        }
        Mutation {
            id: id.into(),
            expect,
            names: all,
        }
    }
}

/// A prepared case: the mutations it applies and the command to run.
pub struct Case {
    /// What the case applies, in order.
    pub mutations: Vec<Mutation>,
    /// The command (program, arguments, environment, working directory).
    pub cmd: Command,
    /// Wall-clock limit.
    pub limit: Duration,
    /// Whether stdout counts as part of the refusal's message (`inspect`
    /// prints its failed checks on stdout).
    pub stdout_is_message: bool,
    /// A textual description of the input (written files, arguments), for
    /// the failure report.
    pub input: String,
    /// The exit codes that are refusals (empty: any non-zero one); another
    /// non-zero code is a crash (the Python surface: 3 is a caught
    /// refusal, 1 an uncaught exception).
    pub refusal_codes: Vec<i32>,
}

impl Case {
    /// The case's overall expectation.
    pub fn expect(&self) -> Expect {
        Expect::combine(&self.mutations.iter().map(|m| m.expect).collect::<Vec<_>>())
    }

    /// The ids of its mutations, joined.
    pub fn id(&self) -> String {
        self.mutations
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// What a child did.
pub struct Ran {
    /// Exit code (None: killed by a signal, or by us on timeout).
    pub code: Option<i32>,
    /// The terminating signal, if any.
    pub signal: Option<i32>,
    /// Whether we killed it at its limit.
    pub timed_out: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// Wall seconds.
    pub secs: f64,
}

/// Runs a command with piped output under a wall-clock limit; on timeout
/// kills its whole process group (it is started as the leader of its own).
pub fn run_limited(cmd: &mut Command, limit: Duration) -> Ran {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawning the fuzzed command");
    let pid = child.id();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the child") {
            break s;
        }
        if start.elapsed() > limit {
            timed_out = true;
            // The child leads its own process group: kill the group (it and
            // anything it started), by its id.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            break child.wait().expect("reaping the killed child");
        }
        std::thread::sleep(Duration::from_millis(15));
    };
    let secs = start.elapsed().as_secs_f64();
    // A grandchild still holding the pipes would block the readers: by now
    // the group is dead or the child exited normally (its children with it).
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Ran {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout,
        stderr,
        secs,
    }
}

/// The classes of outcome (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Exit 0, not marked invalid.
    Ok,
    /// Non-zero with a naming message, not marked valid.
    Refused,
    /// Signal, panic, abort, segfault.
    Crash,
    /// Past its limit.
    Hang,
    /// Exit 0 on an invalid input.
    AcceptedInvalid,
    /// Non-zero on a valid input.
    RejectedValid,
    /// Non-zero with an empty message or one that names nothing of the case.
    UnnamedRefusal,
}

impl Class {
    /// Whether the class is a failure.
    pub fn is_failure(self) -> bool {
        !matches!(self, Class::Ok | Class::Refused)
    }

    /// The class's name in the summaries.
    pub fn name(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Refused => "refused",
            Class::Crash => "crash",
            Class::Hang => "hang",
            Class::AcceptedInvalid => "accepted-invalid",
            Class::RejectedValid => "rejected-valid",
            Class::UnnamedRefusal => "unnamed-refusal",
        }
    }
}

/// Markers of a Rust panic (or the Python package's guard around one) in
/// a child's output, whatever its exit status.
const PANIC_MARKERS: [&str; 4] = [
    "panicked at",
    "internal error",
    "PanicException",
    "RUST_BACKTRACE",
];

/// Classifies what a case's child did.
pub fn classify(case: &Case, ran: &Ran) -> (Class, String) {
    if ran.timed_out {
        return (
            Class::Hang,
            format!("still running after {:.0} s", case.limit.as_secs_f64()),
        );
    }
    let all = format!("{}\n{}", ran.stdout, ran.stderr);
    if let Some(sig) = ran.signal {
        return (Class::Crash, format!("killed by signal {sig}"));
    }
    match ran.code {
        Some(101) => return (Class::Crash, "exit 101 (a Rust panic)".into()),
        Some(134) => return (Class::Crash, "exit 134 (abort)".into()),
        Some(139) => return (Class::Crash, "exit 139 (segfault)".into()),
        _ => {}
    }
    if let Some(m) = PANIC_MARKERS.iter().find(|m| all.contains(*m)) {
        return (
            Class::Crash,
            format!("exit {:?} with `{m}` in the output", ran.code),
        );
    }
    let code = ran.code.unwrap_or(-1);
    let expect = case.expect();
    if code == 0 {
        return if expect == Expect::Invalid {
            (Class::AcceptedInvalid, "exit 0".into())
        } else {
            (Class::Ok, String::new())
        };
    }
    if !case.refusal_codes.is_empty() && !case.refusal_codes.contains(&code) {
        return (
            Class::Crash,
            format!(
                "exit {code}, not a refusal (one of {:?}): an uncaught error",
                case.refusal_codes
            ),
        );
    }
    if expect == Expect::Valid {
        return (Class::RejectedValid, format!("exit {code}"));
    }
    let message = if case.stdout_is_message {
        all
    } else {
        ran.stderr.clone()
    };
    if message.trim().is_empty() {
        return (
            Class::UnnamedRefusal,
            format!("exit {code} with an empty message"),
        );
    }
    let lower = message.to_lowercase();
    let names: Vec<&String> = case.mutations.iter().flat_map(|m| &m.names).collect();
    if !names.is_empty() && !names.iter().any(|n| lower.contains(&n.to_lowercase())) {
        return (
            Class::UnnamedRefusal,
            format!("exit {code}; the message names none of {names:?}"),
        );
    }
    (Class::Refused, String::new())
}

/// The number of cases per surface (`FUZZ_CASES`, default [`DEFAULT_CASES`]).
pub fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The seed of a surface: `FUZZ_SEED` if set, else the surface's own.
pub fn seed(default: u64) -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The case indices to run: `FUZZ_ONLY=i` (one case) or all `0..n`.
pub fn indices(n: usize) -> Vec<usize> {
    match std::env::var("FUZZ_ONLY")
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        Some(i) => vec![i],
        None => (0..n).collect(),
    }
}

/// The generator of case `i` of a surface with seed `seed`: its own stream,
/// so one case reruns alone.
pub fn case_rng(seed: u64, i: usize) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(i as u64 + 1);
    r
}

/// Picks one element.
pub fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Cuts an excerpt of a long text: its first and last lines.
pub fn excerpt(text: &str, max: usize) -> String {
    let t = text.trim();
    if t.len() <= max {
        return t.to_string();
    }
    let mut head = max / 2;
    while !t.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = t.len() - max / 2;
    while !t.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{} [...] {}", &t[..head], &t[tail..])
}

/// One failing case, as reported.
pub struct Failure {
    /// Case index.
    pub index: usize,
    /// Its mutation ids.
    pub id: String,
    /// Its class.
    pub class: Class,
    /// Why.
    pub why: String,
    /// The input.
    pub input: String,
    /// A stderr (and stdout) excerpt.
    pub output: String,
}

/// A surface's tally.
pub struct Surface {
    /// Its name (`sample`, `theory`, ...).
    pub name: &'static str,
    /// Its seed.
    pub seed: u64,
    /// Cases run.
    pub run: usize,
    /// Outcomes by class.
    pub counts: BTreeMap<Class, usize>,
    /// Outcomes by expectation (valid, invalid, either) and class.
    pub by_expect: BTreeMap<(&'static str, Class), usize>,
    /// Failures not in `KNOWN_OPEN`.
    pub failures: Vec<Failure>,
    /// Failures of mutations in `KNOWN_OPEN` (printed, not failing).
    pub known: Vec<Failure>,
    /// Cases of known open mutations that were skipped (not run).
    pub skipped: Vec<String>,
    /// The surface's known open mutations (ids, or prefixes ending in `*`).
    pub known_open: &'static [&'static str],
    /// Wall seconds of all cases.
    pub secs: f64,
}

impl Surface {
    /// A surface with its default seed (replaced by `FUZZ_SEED`) and its
    /// list of known open mutations.
    pub fn new(
        name: &'static str,
        default_seed: u64,
        known_open: &'static [&'static str],
    ) -> Surface {
        Surface {
            name,
            seed: seed(default_seed),
            run: 0,
            counts: BTreeMap::new(),
            by_expect: BTreeMap::new(),
            failures: Vec::new(),
            known: Vec::new(),
            skipped: Vec::new(),
            known_open,
            secs: 0.0,
        }
    }

    /// The generator of case `i`: [`case_rng`] of the seed mixed with the
    /// surface's name, so one `FUZZ_SEED` gives every surface its own cases.
    pub fn rng(&self, i: usize) -> ChaCha8Rng {
        let salt = self.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        case_rng(self.seed ^ salt, i)
    }

    fn is_known(&self, case: &Case) -> bool {
        case.mutations.iter().any(|m| {
            self.known_open.iter().any(|k| match k.strip_suffix('*') {
                Some(prefix) => m.id.starts_with(prefix),
                None => m.id == *k,
            })
        })
    }

    /// Runs one prepared case and records its outcome.
    ///
    /// A case of a mutation in the surface's `KNOWN_OPEN` list is skipped
    /// with a printed note (it hangs or crashes: running it in CI would only
    /// cost its limit, or fill a disk); `FUZZ_KNOWN=1` runs it anyway, and
    /// its failure is then reported as known, not failing the test.
    pub fn run_case(&mut self, index: usize, mut case: Case) {
        if self.is_known(&case) && std::env::var_os("FUZZ_KNOWN").is_none() {
            eprintln!(
                "[fuzz {}] KNOWN_OPEN case {index} skipped: {} (FUZZ_KNOWN=1 runs it)",
                self.name,
                case.id()
            );
            self.skipped.push(format!("#{index} {}", case.id()));
            return;
        }
        let limit = case.limit;
        let ran = run_limited(&mut case.cmd, limit);
        self.record(index, &case, &ran);
    }

    /// Records the outcome of a case that was run.
    pub fn record(&mut self, index: usize, case: &Case, ran: &Ran) {
        let (class, why) = classify(case, ran);
        self.run += 1;
        self.secs += ran.secs;
        *self.counts.entry(class).or_default() += 1;
        let e = match case.expect() {
            Expect::Valid => "valid",
            Expect::Invalid => "invalid",
            Expect::Either => "either",
        };
        *self.by_expect.entry((e, class)).or_default() += 1;
        if std::env::var_os("FUZZ_VERBOSE").is_some() {
            eprintln!(
                "[fuzz {}] case {index} {:.1}s {} ({e}): {}{}\n    {}",
                self.name,
                ran.secs,
                class.name(),
                case.id(),
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" -- {why}")
                },
                excerpt(&ran.stderr, 400).replace('\n', " | ")
            );
        }
        if class.is_failure() {
            let f = Failure {
                index,
                id: case.id(),
                class,
                why,
                input: case.input.clone(),
                output: excerpt(
                    &format!(
                        "stderr: {}\nstdout: {}",
                        ran.stderr.trim(),
                        excerpt(&ran.stdout, 300)
                    ),
                    1200,
                ),
            };
            if self.is_known(case) {
                self.known.push(f);
            } else {
                self.failures.push(f);
            }
        }
    }

    /// Prints the summary (and every failure) and panics if a failure is
    /// not a known open one.
    pub fn finish(self) {
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(c, n)| format!("{} {n}", c.name()))
            .collect();
        let by: Vec<String> = self
            .by_expect
            .iter()
            .map(|((e, c), n)| format!("{e}/{} {n}", c.name()))
            .collect();
        eprintln!(
            "[fuzz {}] seed {}, {} cases in {:.1} s: {} ({}){}",
            self.name,
            self.seed,
            self.run,
            self.secs,
            counts.join(", "),
            by.join(", "),
            if self.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} KNOWN_OPEN case(s) skipped: {}",
                    self.skipped.len(),
                    self.skipped.join("; ")
                )
            }
        );
        let show = |f: &Failure, tag: &str| {
            eprintln!(
                "[fuzz {}] {tag} case {} ({}): {} -- {}\n  input: {}\n  {}\n  rerun: FUZZ_SEED={} FUZZ_ONLY={} FUZZ_VERBOSE=1 cargo test --release --test {} -- --nocapture",
                self.name,
                f.index,
                f.class.name(),
                f.id,
                f.why,
                f.input.replace('\n', "\n         "),
                f.output.replace('\n', "\n  "),
                self.seed,
                f.index,
                test_file(self.name)
            );
        };
        for f in &self.known {
            show(f, "KNOWN_OPEN (run by FUZZ_KNOWN, not failing)");
        }
        for f in &self.failures {
            show(f, "FAILED");
        }
        assert!(
            self.failures.is_empty(),
            "fuzz surface `{}` (seed {}): {} failing case(s): {}",
            self.name,
            self.seed,
            self.failures.len(),
            self.failures
                .iter()
                .map(|f| format!("#{} {} [{}]", f.index, f.id, f.class.name()))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}

/// The test file of a surface (for the rerun hint).
fn test_file(surface: &str) -> &'static str {
    match surface {
        "sample" | "inspect" => "fuzz_sample",
        "theory" | "practice" => "fuzz_train",
        "score" => "fuzz_score",
        "resume" => "fuzz_resume",
        _ => "fuzz_python",
    }
}

/// A fresh temporary directory for one case.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("fsrgan-fuzz-")
        .tempdir()
        .expect("a temporary directory")
}

/// Copies a directory tree (files and subdirectories).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// Runs the binary to completion (set-up steps, not fuzz cases), asserting
/// success.
pub fn setup(args: &[&str], cwd: &Path) {
    let mut c = Command::new(bin());
    c.args(args).current_dir(cwd);
    let r = run_limited(&mut c, Duration::from_secs(120));
    assert!(
        r.code == Some(0),
        "set-up `fsrgan {}` failed ({:?}):\n{}\n{}",
        args.join(" "),
        r.code,
        r.stdout,
        r.stderr
    );
}

/// Flips one random bit of a file at a random offset in `range` (clipped
/// to the file); returns the offset.
pub fn flip_bit(path: &Path, rng: &mut ChaCha8Rng, range: std::ops::Range<usize>) -> usize {
    let mut b = std::fs::read(path).unwrap();
    let hi = range.end.min(b.len());
    let lo = range.start.min(hi.saturating_sub(1));
    let i = rng.random_range(lo..hi.max(lo + 1));
    b[i] ^= 1 << rng.random_range(0..8);
    std::fs::write(path, b).unwrap();
    i
}

/// Truncates a file to a random length below its own; returns it.
pub fn truncate(path: &Path, rng: &mut ChaCha8Rng) -> usize {
    let b = std::fs::read(path).unwrap();
    let n = rng.random_range(0..b.len().max(1));
    std::fs::write(path, &b[..n]).unwrap();
    n
}

/// An `.npy` file's bytes: the header dict given as text (padded as NumPy
/// pads it), then `data`.
pub fn npy_bytes(header_dict: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header_dict.to_string();
    // magic(6) + version(2) + len(2) + header + '\n', a multiple of 64.
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The header dict of an array of `descr` and `shape`.
pub fn npy_header(descr: &str, fortran: bool, shape: &[String]) -> String {
    let s = if shape.len() == 1 {
        format!("({},)", shape[0])
    } else {
        format!("({})", shape.join(", "))
    };
    format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {s}, }}",
        if fortran { "True" } else { "False" }
    )
}

/// Writes an `.npz` (stored, no compression) of named `.npy` byte strings.
pub fn write_npz(path: &Path, members: &[(String, Vec<u8>)]) {
    use std::io::Write;
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        z.start_file(name.as_str(), opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

/// Reads the members of an `.npz` (names and bytes, in order).
pub fn read_npz(path: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    (0..z.len())
        .map(|i| {
            let mut e = z.by_index(i).unwrap();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (e.name().to_string(), b)
        })
        .collect()
}

/// The offset of an `.npy`'s data (after its header).
pub fn npy_data_offset(b: &[u8]) -> usize {
    match b[6] {
        1 => 10 + u16::from_le_bytes([b[8], b[9]]) as usize,
        _ => 12 + u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize,
    }
}

/// Sets a dataset directory's manifest entry of `file` (size and CRC-32) to
/// the file's present bytes, so a change inside it passes the checksums and
/// must be caught by what the readers check next.
pub fn refresh_manifest_crc(dir: &Path, file: &str) {
    let bytes = std::fs::read(dir.join(file)).unwrap();
    let mpath = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&mpath).unwrap()).unwrap();
    m["files"][file]["bytes"] = serde_json::json!(bytes.len());
    m["files"][file]["crc32"] = serde_json::json!(crc32fast::hash(&bytes));
    std::fs::write(&mpath, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

/// A value of the hostile table, as TOML text, and whether it is an
/// integer the TOML parser can hold (an out-of-range literal is a syntax
/// error of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// `0`.
    Zero,
    /// `-1`.
    Negative,
    /// `100000000000` (an integer).
    E11,
    /// `1e308` (a float).
    E308,
    /// `nan`.
    Nan,
    /// `inf`.
    Inf,
    /// `"12"` (a string where a number belongs).
    Str,
    /// `-1.5` (a negative float).
    NegFloat,
}

impl Hostile {
    /// Every hostile value.
    pub const ALL: [Hostile; 8] = [
        Hostile::Zero,
        Hostile::Negative,
        Hostile::E11,
        Hostile::E308,
        Hostile::Nan,
        Hostile::Inf,
        Hostile::Str,
        Hostile::NegFloat,
    ];

    /// The TOML spelling.
    pub fn toml(self) -> &'static str {
        match self {
            Hostile::Zero => "0",
            Hostile::Negative => "-1",
            Hostile::E11 => "100000000000",
            Hostile::E308 => "1e308",
            Hostile::Nan => "nan",
            Hostile::Inf => "inf",
            Hostile::Str => "\"12\"",
            Hostile::NegFloat => "-1.5",
        }
    }

    /// A short tag for ids.
    pub fn tag(self) -> &'static str {
        match self {
            Hostile::Zero => "0",
            Hostile::Negative => "-1",
            Hostile::E11 => "1e11",
            Hostile::E308 => "1e308",
            Hostile::Nan => "nan",
            Hostile::Inf => "inf",
            Hostile::Str => "str",
            Hostile::NegFloat => "-1.5",
        }
    }
}

/// The kind of a config field, which decides what each hostile value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A count with a minimum and a ceiling (`usize`): negative, float,
    /// NaN, infinite and string values are type errors; 0 is invalid when
    /// the minimum is above 0; 1e11 is invalid when over the ceiling.
    Count {
        /// Smallest valid value.
        min: u64,
        /// Whether 1e11 is over its ceiling (or otherwise unrunnable).
        capped: bool,
    },
    /// A seed (`u64`): any non-negative integer.
    Seed,
    /// A float that must be finite and > 0.
    Positive,
    /// A float that must be finite and >= 0.
    NonNegative,
    /// A float in [0, 1).
    Unit,
    /// Any finite float.
    Finite,
}

/// The expectation of a hostile value for a field of a kind. `huge_ok`:
/// whether a huge but valid float (1e11, 1e308) is a value the run can
/// take (else either: it may overflow in training and stop the run).
pub fn hostile_expect(kind: Kind, v: Hostile) -> Expect {
    use Expect::*;
    use Hostile::*;
    match kind {
        Kind::Count { min, capped } => match v {
            Zero if min > 0 => Invalid,
            Zero => Either,
            E11 if capped => Invalid,
            E11 => Either,
            _ => Invalid,
        },
        Kind::Seed => match v {
            Zero | E11 => Valid,
            _ => Invalid,
        },
        Kind::Positive => match v {
            Zero | Negative | Nan | Inf | Str | NegFloat => Invalid,
            E11 | E308 => Either,
        },
        Kind::NonNegative => match v {
            Negative | Nan | Inf | Str | NegFloat => Invalid,
            Zero | E11 | E308 => Either,
        },
        Kind::Unit => match v {
            Zero => Either,
            _ => Invalid,
        },
        Kind::Finite => match v {
            Nan | Inf | Str => Invalid,
            _ => Either,
        },
    }
}

/// Sets `key` in table `table` of a TOML document (the top level when
/// `table` is empty) to the raw TOML `value`, appending the table if the
/// document has none: a textual edit, so hostile values the TOML
/// serialiser would not write (NaN, strings for numbers) go in as they are.
pub fn set_toml(doc: &str, table: &str, key: &str, value: &str) -> String {
    let mut lines: Vec<String> = doc.lines().map(str::to_string).collect();
    // The range of the table's lines.
    let header = format!("[{table}]");
    let (start, end) = if table.is_empty() {
        let end = lines
            .iter()
            .position(|l| l.trim_start().starts_with('['))
            .unwrap_or(lines.len());
        (0, end)
    } else {
        match lines.iter().position(|l| l.trim() == header) {
            Some(h) => {
                let end = lines[h + 1..]
                    .iter()
                    .position(|l| l.trim_start().starts_with('['))
                    .map(|p| h + 1 + p)
                    .unwrap_or(lines.len());
                (h + 1, end)
            }
            None => {
                lines.push(header.clone());
                (lines.len(), lines.len())
            }
        }
    };
    let line = format!("{key} = {value}");
    let found = (start..end).find(|&i| lines[i].split('=').next().is_some_and(|k| k.trim() == key));
    match found {
        Some(i) => lines[i] = line,
        None => lines.insert(end, line),
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
