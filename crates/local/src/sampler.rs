//! Choosing the next token from the logits: greedy, or temperature with nucleus (top-p)
//! sampling from a seeded random generator, so a run can be repeated exactly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How to pick tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// 0 (or less) means greedy decoding: always the most likely token.
    pub temperature: f32,
    /// Keep the smallest set of tokens whose probabilities add up to `top_p` (1.0 keeps all).
    pub top_p: f32,
    pub seed: u64,
}

impl SamplingParams {
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

/// A token sampler with its own random generator.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
    scratch: Vec<(usize, f32)>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        Self {
            params,
            rng: StdRng::seed_from_u64(params.seed),
            scratch: Vec::new(),
        }
    }

    /// The index of the chosen token.
    pub fn sample(&mut self, logits: &[f32]) -> usize {
        if self.params.temperature <= 0.0 {
            return argmax(logits);
        }
        let t = self.params.temperature;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        self.scratch.clear();
        self.scratch.extend(
            logits
                .iter()
                .enumerate()
                .map(|(i, &l)| (i, ((l - max) / t).exp())),
        );
        let sum: f32 = self.scratch.iter().map(|&(_, p)| p).sum();
        let top_p = self.params.top_p.clamp(0.0, 1.0);
        let mut kept = self.scratch.len();
        if top_p < 1.0 {
            self.scratch
                .sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut acc = 0.0;
            for (i, &(_, p)) in self.scratch.iter().enumerate() {
                acc += p / sum;
                if acc >= top_p {
                    kept = i + 1;
                    break;
                }
            }
        }
        let candidates = &self.scratch[..kept];
        let total: f32 = candidates.iter().map(|&(_, p)| p).sum();
        let mut r = self.rng.random::<f32>() * total;
        for &(i, p) in candidates {
            if r < p {
                return i;
            }
            r -= p;
        }
        candidates.last().map_or(0, |&(i, _)| i)
    }
}

/// The index of the largest logit (the first one on ties, as llama.cpp's greedy sampler).
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.sample(&[0.1, 3.0, 3.0, -1.0]), 1);
    }

    #[test]
    fn same_seed_same_tokens_and_top_p_cuts_the_tail() {
        let logits = [2.0, 1.9, 0.0, -5.0, 1.0];
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 0.7,
            seed: 42,
        };
        let run = |p| {
            let mut s = Sampler::new(p);
            (0..200).map(|_| s.sample(&logits)).collect::<Vec<_>>()
        };
        let a = run(params);
        assert_eq!(a, run(params));
        // The two top tokens hold ~0.7 of the mass; nothing else may be drawn.
        assert!(a.iter().all(|&i| i == 0 || i == 1), "{a:?}");
        assert!(a.contains(&0) && a.contains(&1));
        let wide = run(SamplingParams {
            top_p: 1.0,
            ..params
        });
        assert!(wide.iter().any(|&i| i > 1));
    }
}
