//! placeholder
/// Outcome.
pub struct TrainOutcome;
/// Train.
pub fn train() {}
