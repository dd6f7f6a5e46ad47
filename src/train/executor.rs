//! One training loop for every learner (argmin's `Executor` + observers is
//! the model): a track describes each stage as a [`Stage`] — its steps, one
//! GAN step, the finiteness of its parameters, its metrics and its exact
//! checkpoint — and [`Executor::run_stage`] owns the loop around it: step
//! timing, the NaN stop, metric rows every `metrics_every` steps and at the
//! stage's end, checkpoints every `checkpoint_every` steps and at the end,
//! the simulated kill (`debug.stop_after_steps`, no checkpoint), the
//! wall-time and step budgets (a checkpoint where they stop), and the
//! observers (progress bar, metric files).
//!
//! Both tracks use it: the theory track (`train::trainer`, stages `dict1`,
//! `level1`, `superres{l}`) and the practice track (`train::practice`,
//! phases of ordinary convolutional GANs).

use std::collections::BTreeMap;
use std::time::Instant;

use super::TrainError;
use super::stage::StepLosses;
use crate::io::rundir::{Row, RunDir};

/// Metric values of a row.
pub type Values = BTreeMap<String, f64>;

/// Where a run is: the stage index, the step within it, the global step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Stage index (`stages.len()` after the last).
    pub stage: usize,
    /// Step within the stage.
    pub stage_step: usize,
    /// Steps since the start of training.
    pub step: usize,
}

/// One stage of a learner, as the executor drives it.
pub trait Stage {
    /// Name in files and progress (`dict1`, `superres2`, `practice-l2`).
    fn name(&self) -> &str;
    /// Steps of the stage.
    fn steps(&self) -> usize;
    /// One training step (0-based index `k` within the stage): both players'
    /// updates and projections.
    ///
    /// # Errors
    /// libtorch errors, or a stage-specific failure.
    fn step(&mut self, k: usize) -> Result<StepLosses, TrainError>;
    /// The first parameter that is not finite (`"a learner parameter"`, ...).
    fn non_finite(&mut self) -> Option<&'static str>;
    /// The metric values of a row after step `k` (`None`: the stage's start).
    ///
    /// # Errors
    /// A metric could not be computed.
    fn evaluate(&mut self, k: Option<usize>) -> Result<Values, TrainError>;
    /// Saves the exact state to resume from at `next` (the position after
    /// the last completed step).
    ///
    /// # Errors
    /// Writing failed.
    fn checkpoint(&mut self, next: Position) -> Result<(), TrainError>;
    /// Called after step `k` at the stage's middle (`k + 1 == steps / 2`,
    /// not the end): snapshots such as E2's.
    ///
    /// # Errors
    /// Writing failed.
    fn at_middle(&mut self, _k: usize) -> Result<(), TrainError> {
        Ok(())
    }
}

/// Watches a run: progress bars, logs.
pub trait Observer {
    /// After every step: `(stage, stage step, stage steps, step, total, losses)`.
    fn step(&mut self, stage: &str, k: usize, n: usize, step: usize, total: usize, l: &StepLosses);
}

/// A progress callback as an observer: `(stage, stage_step, stage_steps,
/// step, total, d_loss, g_loss)`, `d_loss` NaN when the discriminator does
/// not train.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize, usize, usize, f64, f64);

impl Observer for Progress<'_> {
    fn step(&mut self, stage: &str, k: usize, n: usize, step: usize, total: usize, l: &StepLosses) {
        (self)(stage, k, n, step, total, l.d.unwrap_or(f64::NAN), l.g);
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Every step ran.
    Done,
    /// `debug.stop_after_steps` was reached (the checkpoint holds the state).
    Stopped,
    /// The wall-time or step budget was spent (a checkpoint was written).
    Budget,
}

/// The loop's state across stages: the run directory, the rows, the
/// counters, the limits and the observer.
pub struct Executor<'a> {
    /// The run directory (rows are appended to its metric files).
    pub run: &'a RunDir,
    /// Every row so far (those of a resumed run included).
    pub rows: Vec<Row>,
    /// Steps since the start of training.
    pub step: usize,
    /// Steps run by this invocation.
    pub steps_run: usize,
    /// Total steps of the run (for progress).
    pub total: usize,
    /// Metrics every this many stage steps.
    pub metrics_every: usize,
    /// Checkpoints every this many stage steps.
    pub checkpoint_every: usize,
    /// Stop once this many steps are done in total (a simulated kill).
    pub stop_after: Option<usize>,
    /// Stop (with a checkpoint) once this invocation has run this long (s).
    pub budget_secs: Option<f64>,
    /// Stop (with a checkpoint, like the seconds budget) once this many
    /// steps are done in total (the practice track's `max_steps`).
    pub budget_steps: Option<usize>,
    /// Wall-clock seconds of earlier invocations (resume).
    pub secs0: f64,
    /// Start of this invocation.
    pub t0: Instant,
    /// Watches the steps.
    pub observer: &'a mut dyn Observer,
}

impl Executor<'_> {
    /// Seconds since the start of training (earlier invocations included).
    pub fn elapsed(&self) -> f64 {
        self.secs0 + self.t0.elapsed().as_secs_f64()
    }

    /// Appends a row to the run's metric files and the executor's rows.
    ///
    /// # Errors
    /// Writing failed.
    pub fn log(&mut self, row: Row) -> Result<(), TrainError> {
        self.run.append(&row)?;
        self.rows.push(row);
        Ok(())
    }

    /// The last row.
    pub fn last(&self) -> Row {
        self.rows.last().cloned().unwrap_or_default()
    }

    /// A row of `stage` at its step `stage_step` with `values`.
    pub fn row(
        &self,
        stage: &str,
        stage_step: usize,
        step_secs: Option<f64>,
        values: Values,
    ) -> Row {
        Row {
            stage: stage.to_owned(),
            stage_step,
            step: self.step,
            secs: self.elapsed(),
            step_secs,
            values,
        }
    }

    /// Whether `n` more steps would pass `debug.stop_after_steps`.
    pub fn would_stop(&self, n: usize) -> bool {
        self.stop_after.is_some_and(|s| self.step + n > s)
    }

    /// Runs stage `si` from its step `from` to its end: each step timed,
    /// its losses and parameters checked for finiteness, a metric row every
    /// `metrics_every` steps and at the end (with the losses and the stage's
    /// step seconds, `step_secs0` carried in from steps run before `from`),
    /// a checkpoint every `checkpoint_every` steps and at the end, the
    /// stage's middle hook, and the stop conditions.
    ///
    /// # Errors
    /// [`TrainError::NonFinite`] naming the stage, step and quantity; errors
    /// of the stage's step, metrics or checkpoint.
    pub fn run_stage(
        &mut self,
        stage: &mut dyn Stage,
        si: usize,
        from: usize,
        step_secs0: f64,
    ) -> Result<Flow, TrainError> {
        let steps = stage.steps();
        self.run_steps(stage, si, from..steps, step_secs0, None)
    }

    /// Runs `trial.steps` steps of stage `si` from its step 0 as one trial
    /// of a choice between starts ([`Trial`]): the same loop as
    /// [`Executor::run_stage`] (timing, the finiteness checks, the
    /// observer, metric rows every `metrics_every` steps and at the trial's
    /// end, the stop conditions), but its rows go to the trial (tagged
    /// `start = candidate`) instead of the run, and it writes no checkpoint
    /// and takes no middle snapshot: a choice is atomic, and a run stopped
    /// inside it resumes the stage from its start (its last checkpoint).
    /// The global step starts from `trial.step0` for every candidate.
    ///
    /// # Errors
    /// As [`Executor::run_stage`], the candidate named.
    pub fn run_trial(
        &mut self,
        stage: &mut dyn Stage,
        si: usize,
        trial: &mut Trial,
    ) -> Result<Flow, TrainError> {
        self.step = trial.step0;
        let n = trial.steps;
        self.run_steps(stage, si, 0..n, 0.0, Some(trial))
    }

    /// The one step loop of [`Executor::run_stage`] and
    /// [`Executor::run_trial`] (`trial` set).
    fn run_steps(
        &mut self,
        stage: &mut dyn Stage,
        si: usize,
        range: std::ops::Range<usize>,
        step_secs0: f64,
        mut trial: Option<&mut Trial>,
    ) -> Result<Flow, TrainError> {
        let steps = stage.steps();
        let name = stage.name().to_owned();
        let end_of = range.end;
        let mut step_secs = step_secs0;
        for k in range {
            if self.stop_after.is_some_and(|n| self.step >= n) {
                return Ok(Flow::Stopped);
            }
            if self
                .budget_secs
                .is_some_and(|b| self.t0.elapsed().as_secs_f64() >= b)
                || self.budget_steps.is_some_and(|n| self.step >= n)
            {
                if trial.is_none() {
                    stage.checkpoint(Position {
                        stage: si,
                        stage_step: k,
                        step: self.step,
                    })?;
                }
                self.run.write_rows(&self.rows)?;
                return Ok(Flow::Budget);
            }
            let t_step = Instant::now();
            let losses = stage.step(k)?;
            self.step += 1;
            self.steps_run += 1;
            check_finite(stage, &name, k, &losses, trial.as_deref())?;
            if let Some(t) = trial.as_deref_mut() {
                t.record(k, &losses);
            }
            self.observer
                .step(&name, k + 1, steps, self.step, self.total, &losses);
            // Every step reads its losses on the host, so the device is
            // synchronised here.
            step_secs += t_step.elapsed().as_secs_f64();
            let end = k + 1 == end_of;
            if trial.is_none() && k + 1 == steps / 2 && !end {
                stage.at_middle(k)?;
            }
            if (k + 1) % self.metrics_every == 0 || end {
                self.metric_row(stage, &name, k, &losses, step_secs, trial.as_deref_mut())?;
            }
            if trial.is_none() && ((k + 1) % self.checkpoint_every == 0 || end) {
                let next = if end {
                    Position {
                        stage: si + 1,
                        stage_step: 0,
                        step: self.step,
                    }
                } else {
                    Position {
                        stage: si,
                        stage_step: k + 1,
                        step: self.step,
                    }
                };
                stage.checkpoint(next)?;
                self.run.write_rows(&self.rows)?;
            }
        }
        if let Some(t) = trial {
            t.step_secs = step_secs;
        } else if steps == 0 {
            stage.checkpoint(Position {
                stage: si + 1,
                stage_step: 0,
                step: self.step,
            })?;
        }
        Ok(Flow::Done)
    }

    /// The metric row after step `k`: the stage's metrics with the step's
    /// losses and step seconds, logged (or, in a trial, kept by the trial
    /// and tagged `start`). A trial's rows are evaluated at `k + 1` (the
    /// stage's at `k`): the witness's floor batches are seeded by it.
    ///
    /// # Errors
    /// The metrics or the write failed.
    fn metric_row(
        &mut self,
        stage: &mut dyn Stage,
        name: &str,
        k: usize,
        losses: &StepLosses,
        step_secs: f64,
        trial: Option<&mut Trial>,
    ) -> Result<(), TrainError> {
        let at = if trial.is_some() { k + 1 } else { k };
        let mut values = stage.evaluate(Some(at))?;
        if let Some(d) = losses.d {
            values.insert("d_loss".into(), d);
        }
        values.insert("g_loss".into(), losses.g);
        match trial {
            Some(t) => {
                values.insert("start".into(), t.candidate as f64);
                let row = self.row(name, k + 1, Some(step_secs), values);
                t.rows.push(row);
            }
            None => {
                let row = self.row(name, k + 1, Some(step_secs), values);
                self.log(row)?;
            }
        }
        Ok(())
    }
}

/// One trial of a choice between random starts ([`Executor::run_trial`]):
/// which start, how many steps from which global step, and what it leaves:
/// its metric rows, its step seconds and its value, the mean over the last
/// fifth of its steps of the discriminator's value at its best response
/// (`-d_loss`), or the generator's loss where no discriminator plays.
#[derive(Debug, Clone, Default)]
pub struct Trial {
    /// Which start (0: the learner's own).
    pub candidate: usize,
    /// Steps of the trial.
    pub steps: usize,
    /// The global step the trial starts from.
    pub step0: usize,
    /// Its metric rows (not logged: the chosen start's are).
    pub rows: Vec<Row>,
    /// Seconds of its steps.
    pub step_secs: f64,
    /// The values of its last fifth of steps.
    tail: Vec<f64>,
}

impl Trial {
    /// A trial of `steps` steps of start `candidate` from global step `step0`.
    pub fn new(candidate: usize, steps: usize, step0: usize) -> Trial {
        Trial {
            candidate,
            steps,
            step0,
            ..Trial::default()
        }
    }

    /// Keeps step `k`'s value when it is in the last fifth of the trial:
    /// random starts are compared by the discriminator's value at its best
    /// response; a stage without a discriminator (adversarial = 0, the
    /// supervised baseline) by its generator's loss, the L1 term on real
    /// pairs.
    fn record(&mut self, k: usize, l: &StepLosses) {
        if 5 * (k + 1) > 4 * self.steps {
            self.tail.push(match l.d {
                Some(d) => -d,
                None => l.g,
            });
        }
    }

    /// The trial's value (smaller is better).
    pub fn value(&self) -> f64 {
        self.tail.iter().sum::<f64>() / self.tail.len().max(1) as f64
    }
}

/// The NaN stop: step `k`'s losses and the stage's parameters must be
/// finite.
///
/// # Errors
/// [`TrainError::NonFinite`] naming the stage, the step, the quantity and,
/// in a trial, the random start.
fn check_finite(
    stage: &mut dyn Stage,
    name: &str,
    k: usize,
    losses: &StepLosses,
    trial: Option<&Trial>,
) -> Result<(), TrainError> {
    let tag = trial.map_or(String::new(), |t| {
        format!(" (random start {})", t.candidate)
    });
    let nonfinite = |what: &str| TrainError::NonFinite {
        stage: name.to_owned(),
        step: k + 1,
        what: format!("{what}{tag}"),
    };
    for (what, v) in [
        ("the discriminator's loss", losses.d.unwrap_or(0.0)),
        ("the generator's loss", losses.g),
    ] {
        if !v.is_finite() {
            return Err(nonfinite(what));
        }
    }
    match stage.non_finite() {
        Some(what) => Err(nonfinite(what)),
        None => Ok(()),
    }
}
