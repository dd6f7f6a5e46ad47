//! CPU threads of one process: how many, and how idle OpenMP threads wait.
//!
//! A training process has three thread pools: libtorch's intra-op pool
//! (GNU OpenMP, `libgomp` shipped with libtorch), rayon (the pure-Rust
//! sampler and diagnostics) and OpenBLAS (`ndarray` products and LAPACK in
//! the metrics and warm starts). Each is sized from one [`Cpu`] setting that
//! is fixed when a run starts — from a flag, the usual environment variables
//! or a default that depends on the model's size, **never on the machine's
//! current load** — recorded in the run's `config.toml` and reused by
//! `--resume`, so a run is a function of its config (libtorch's reductions
//! depend on the thread count: the same count gives bit-identical CPU
//! results, another count does not).
//!
//! Why the default is one thread for small models (measured on the 2-core
//! machine, `experiments/threads/README.md`): OpenMP parallel regions end
//! in a barrier, and idle OpenMP threads spin for about 300,000 iterations
//! before they sleep. When another process keeps the cores busy, every
//! barrier waits for a descheduled partner, so a 2-thread `tiny` run took
//! 6.6x its time alone beside a 2-thread PyTorch loop, while a 1-thread run
//! took 1.5x — and the 1-thread run is also faster *alone* (42 s against
//! 52–57 s): `tiny`'s tensors are too small for two threads to pay. For
//! larger models two threads are 1.5x faster alone, so they keep all cores.
//!
//! The OpenMP wait policy (`OMP_WAIT_POLICY`) is read by `libgomp` when it
//! is loaded, before `main`; setting it later has no effect. `fsrgan train`
//! therefore re-executes itself with the variable set when a run's policy
//! differs from the process's ([`reexec_for_wait_policy`]).

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

/// The OpenMP wait policy of idle libtorch threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitPolicy {
    /// libgomp's default: spin about 300,000 iterations, then sleep.
    #[default]
    Default,
    /// `OMP_WAIT_POLICY=ACTIVE`: spin (almost) indefinitely.
    Active,
    /// `OMP_WAIT_POLICY=PASSIVE`: sleep at once (slow alone on this machine:
    /// every parallel region wakes its threads through the kernel).
    Passive,
}

impl WaitPolicy {
    /// The value of `OMP_WAIT_POLICY` that selects it (`None`: unset).
    pub fn env_value(self) -> Option<&'static str> {
        match self {
            WaitPolicy::Default => None,
            WaitPolicy::Active => Some("ACTIVE"),
            WaitPolicy::Passive => Some("PASSIVE"),
        }
    }

    /// Parses a policy name as the CLI and `OMP_WAIT_POLICY` spell it
    /// (case-insensitive `default`, `active`, `passive`).
    pub fn parse(s: &str) -> Option<WaitPolicy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Some(WaitPolicy::Default),
            "active" => Some(WaitPolicy::Active),
            "passive" => Some(WaitPolicy::Passive),
            _ => None,
        }
    }

    /// The policy the current process's environment selects; `Err` with the
    /// value when `OMP_WAIT_POLICY` holds something libgomp ignores.
    pub fn from_env() -> Result<WaitPolicy, String> {
        match std::env::var("OMP_WAIT_POLICY") {
            Ok(v) => WaitPolicy::parse(&v)
                .filter(|p| *p != WaitPolicy::Default)
                .ok_or(v),
            Err(_) => Ok(WaitPolicy::Default),
        }
    }
}

/// CPU threading of a run (`[cpu]` in a training config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cpu {
    /// Threads of libtorch's intra-op pool, of rayon and of OpenBLAS.
    /// Absent: resolved when the run starts ([`Cpu::resolve`]) and recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// The OpenMP wait policy.
    #[serde(default)]
    pub wait: WaitPolicy,
}

/// Where a thread setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable (its name).
    Env(&'static str),
    /// The config file or the run being resumed.
    Config,
    /// The size-dependent default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => write!(f, "flag"),
            Source::Env(v) => write!(f, "${v}"),
            Source::Config => write!(f, "config"),
            Source::Default => write!(f, "default"),
        }
    }
}

/// The cores this process may run on (its affinity mask; 1 when unknown) —
/// a property of the machine and the process, not of its current load.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Image values `c r_L^2` of the finest level below which a model trains on
/// one thread by default (`tiny`: 64, `small`: 768, `paper`: 12,288).
pub const SMALL_MODEL_VALUES: usize = 256;

/// The default thread count for a model: 1 when its finest image has fewer
/// than [`SMALL_MODEL_VALUES`] values (its tensors are too small for more
/// threads to pay, and one thread never waits at a barrier), else every
/// available core.
pub fn default_threads(model: &crate::model::Config) -> usize {
    let r = model.resolution(model.levels.saturating_sub(1));
    if model.channels * r * r < SMALL_MODEL_VALUES {
        1
    } else {
        available_cores()
    }
}

/// A positive thread count from an environment variable, if it holds one.
fn env_threads(name: &'static str) -> Result<Option<usize>, String> {
    match std::env::var(name) {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(format!("${name} must be a positive integer, got `{v}`")),
        },
        Err(_) => Ok(None),
    }
}

impl Cpu {
    /// Fixes the settings of a new run: threads from `flag`, else
    /// `OMP_NUM_THREADS`, else the config's value,
    /// else [`default_threads`]; the wait policy from `wait_flag`, else
    /// `OMP_WAIT_POLICY`, else the config's value. Returns the sources.
    ///
    /// # Errors
    /// A message naming the flag or variable that holds an invalid value.
    pub fn resolve(
        &mut self,
        flag: Option<usize>,
        wait_flag: Option<WaitPolicy>,
        model: &crate::model::Config,
    ) -> Result<(Source, Source), String> {
        let threads_src = if let Some(n) = flag {
            if n == 0 {
                return Err("--threads must be at least 1".into());
            }
            self.threads = Some(n);
            Source::Flag
        } else if let Some(n) = env_threads("OMP_NUM_THREADS")? {
            self.threads = Some(n);
            Source::Env("OMP_NUM_THREADS")
        } else if self.threads.is_some() {
            Source::Config
        } else {
            self.threads = Some(default_threads(model));
            Source::Default
        };
        let wait_src = if let Some(w) = wait_flag {
            self.wait = w;
            Source::Flag
        } else if std::env::var_os("OMP_WAIT_POLICY").is_some() {
            self.wait = WaitPolicy::from_env()
                .map_err(|v| format!("$OMP_WAIT_POLICY must be ACTIVE or PASSIVE, got `{v}`"))?;
            Source::Env("OMP_WAIT_POLICY")
        } else if self.wait != WaitPolicy::Default {
            Source::Config
        } else {
            Source::Default
        };
        Ok((threads_src, wait_src))
    }

    /// The thread count, or the model's default when unset.
    pub fn threads_for(&self, model: &crate::model::Config) -> usize {
        self.threads.unwrap_or_else(|| default_threads(model))
    }
}

unsafe extern "C" {
    /// OpenBLAS's runtime setter of its thread count (libopenblas, linked
    /// through `ndarray-linalg`'s `openblas-system`).
    fn openblas_set_num_threads(n: std::os::raw::c_int);
    /// OpenBLAS's thread count.
    fn openblas_get_num_threads() -> std::os::raw::c_int;
}

/// Sets OpenBLAS's thread count (it reads `OPENBLAS_NUM_THREADS` only when
/// loaded; this changes it at run time).
pub fn set_blas_threads(n: usize) {
    let n = n.clamp(1, i32::MAX as usize) as std::os::raw::c_int;
    // SAFETY: a plain setter of OpenBLAS's global thread count, with a positive value.
    unsafe { openblas_set_num_threads(n) }
}

/// OpenBLAS's thread count.
pub fn blas_threads() -> usize {
    // SAFETY: a plain getter of OpenBLAS's global thread count.
    unsafe { openblas_get_num_threads() }.max(1) as usize
}

/// Sets libtorch's intra-op pool (with the `torch` feature) and OpenBLAS to
/// `n` threads. Both can change at run time; rayon's pool is sized by
/// [`with_threads`].
pub fn set_compute_threads(n: usize) {
    let n = n.max(1);
    #[cfg(feature = "torch")]
    tch::set_num_threads(n.min(i32::MAX as usize) as i32);
    set_blas_threads(n);
}

/// Most threads one request may ask for (a guard against typos that would
/// spawn millions of threads).
pub const MAX_THREADS: usize = 1024;

/// Errors of sizing the thread pools.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// More threads than [`MAX_THREADS`] were asked for.
    #[error("threads must be at most {MAX_THREADS}, got {0}")]
    TooMany(usize),
    /// rayon could not start the threads.
    #[error("starting {n} worker thread(s): {source}")]
    Build {
        /// The threads asked for.
        n: usize,
        /// rayon's error.
        source: rayon::ThreadPoolBuildError,
    },
}

/// Runs `f` with every pool of this process sized to `n` threads (`None` or
/// `Some(0)`: all available cores): libtorch's intra-op pool and OpenBLAS
/// ([`set_compute_threads`]) and the rayon pool that `f`'s parallel work runs
/// on. This is the one way an entry point (a subcommand, a Python call, a
/// bench) sizes its pools, so the order of the code cannot break it:
///
/// * the first request builds rayon's global pool with `n` threads;
/// * a later request for the size the global pool has runs `f` on it;
/// * a request for another size (the global pool was built earlier, by a
///   previous request or by rayon's lazy default) runs `f` inside a local
///   pool of `n` threads — served, never an error.
///
/// # Errors
/// [`PoolError`] when `n` exceeds [`MAX_THREADS`] or the threads cannot start.
pub fn with_threads<T: Send>(
    n: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, PoolError> {
    let n = match n {
        None | Some(0) => available_cores(),
        Some(n) if n > MAX_THREADS => return Err(PoolError::TooMany(n)),
        Some(n) => n,
    };
    set_compute_threads(n);
    let global = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    if global.is_ok()
        || (rayon::current_thread_index().is_none() && rayon::current_num_threads() == n)
    {
        return Ok(f());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|source| PoolError::Build { n, source })?;
    Ok(pool.install(f))
}

/// Name of the variable that marks a process re-executed by
/// [`reexec_for_wait_policy`] (so it never loops).
pub const REEXEC_MARK: &str = "FSRGAN_REEXEC_WAIT_POLICY";

/// Makes the process's OpenMP wait policy `want`: when `OMP_WAIT_POLICY`
/// already selects it, returns `Ok(())`; otherwise re-executes the current
/// executable with the same arguments and the variable set (or removed, for
/// [`WaitPolicy::Default`]) — libgomp reads it only when it is loaded — and
/// does not return on success.
///
/// # Errors
/// The executable could not be re-executed, or a re-executed process still
/// does not see the policy.
pub fn reexec_for_wait_policy(want: WaitPolicy) -> Result<(), String> {
    let have = WaitPolicy::from_env().ok();
    if have == Some(want) {
        return Ok(());
    }
    if std::env::var_os(REEXEC_MARK).is_some() {
        return Err(format!(
            "the OpenMP wait policy is still {have:?} after re-executing for {want:?}"
        ));
    }
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("finding the executable: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1)).env(REEXEC_MARK, "1");
    match want.env_value() {
        Some(v) => cmd.env("OMP_WAIT_POLICY", v),
        None => cmd.env_remove("OMP_WAIT_POLICY"),
    };
    let err = cmd.exec();
    Err(format!(
        "re-executing with OMP_WAIT_POLICY={:?}: {err}",
        want.env_value()
    ))
}
