//! SGD and Adam on a list of tensors, with state that can be saved and
//! restored exactly (so a resumed run repeats an uninterrupted one).
//!
//! Adam: `m <- b1 m + (1 - b1) g`, `v <- b2 v + (1 - b2) g^2`,
//! `p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + 1e-8)`.
//! SGD: `p <- p - lr g`. Both minimise; ascent is descent on the negated objective.

use tch::Tensor;

use super::TrainError;

use super::config::Optimizer;

/// An optimiser over a fixed list of parameters.
#[derive(Debug)]
pub struct Optim {
    kind: Optimizer,
    beta1: f64,
    beta2: f64,
    /// Steps taken.
    pub t: u64,
    /// First moments (Adam).
    pub m: Vec<Tensor>,
    /// Second moments (Adam).
    pub v: Vec<Tensor>,
}

impl Optim {
    /// A fresh optimiser for parameters shaped like `params`.
    pub fn new(kind: Optimizer, beta1: f64, beta2: f64, params: &[&Tensor]) -> Optim {
        let zeros = || params.iter().map(|p| p.zeros_like().detach()).collect();
        Optim {
            kind,
            beta1,
            beta2,
            t: 0,
            m: zeros(),
            v: zeros(),
        }
    }

    /// One step with gradients `grads` (same order as the parameters) and rate `lr`.
    ///
    /// # Errors
    /// [`TrainError::Shape`] if `params`, `grads` and the optimiser's state
    /// differ in length or a gradient's shape is not its parameter's;
    /// [`TrainError::Torch`] if libtorch rejects an update
    /// (the step is then not complete: the caller must stop).
    pub fn step(
        &mut self,
        params: &mut [&mut Tensor],
        grads: &[Tensor],
        lr: f64,
    ) -> Result<(), TrainError> {
        if params.len() != grads.len() || params.len() != self.m.len() {
            return Err(TrainError::Shape {
                what: "an optimiser step".into(),
                shape: vec![params.len(), grads.len()],
                expected: format!(
                    "{} parameters and as many gradients (the optimiser's state)",
                    self.m.len()
                ),
            });
        }
        if let Some((p, g)) = params
            .iter()
            .zip(grads)
            .find(|(p, g)| g.defined() && p.size() != g.size())
        {
            return Err(TrainError::Shape {
                what: "a gradient".into(),
                shape: g.size().iter().map(|&s| s as usize).collect(),
                expected: format!("the shape of its parameter, {:?}", p.size()),
            });
        }
        self.t += 1;
        tch::no_grad(|| {
            for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
                if !g.defined() {
                    continue;
                }
                match self.kind {
                    Optimizer::Sgd => {
                        drop(p.f_sub_(&(g * lr))?); // the result is a second handle on `p`
                    }
                    Optimizer::Adam => {
                        let m = &self.m[i] * self.beta1 + g * (1.0 - self.beta1);
                        let v = &self.v[i] * self.beta2 + g * g * (1.0 - self.beta2);
                        let mh = &m / (1.0 - self.beta1.powi(self.t as i32));
                        let vh = &v / (1.0 - self.beta2.powi(self.t as i32));
                        drop(p.f_sub_(&(mh / (vh.sqrt() + 1e-8) * lr))?);
                        self.m[i] = m;
                        self.v[i] = v;
                    }
                }
            }
            Ok(())
        })
    }
}
