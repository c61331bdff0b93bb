//! Choosing the next token from the logits, and noticing when a generation loops.
//!
//! The chain is llama.cpp's default order: a repetition penalty on the recent tokens
//! (its `penalties` sampler), then top-k, top-p and min-p on the penalised distribution,
//! then temperature and a draw from a seeded random generator, so a run can be repeated
//! exactly. Temperature 0 keeps the chain's penalty but takes the most likely token.
//!
//! Small models decoding greedily fall into loops: the same sentence, or the same few
//! tokens, over and over until `max_tokens`. The penalty makes that less likely;
//! [`RepetitionStop`] ends a generation that loops anyway.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How to pick tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// 0 (or less) means greedy decoding: always the most likely token (after the
    /// repetition penalty).
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens (0 keeps all).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probabilities add up to `top_p` (1.0 keeps all).
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one (0 keeps all).
    pub min_p: f32,
    /// Divide the logit of each token among the last `repeat_last_n` generated ones by
    /// this (multiply a negative one), as llama.cpp's `repeat_penalty`; 1.0 turns it off.
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at (0 turns it off).
    pub repeat_last_n: usize,
    pub seed: u64,
    /// End the generation when it loops (see [`RepetitionStop`]); `None` never does.
    pub repetition_stop: Option<RepetitionStop>,
}

impl SamplingParams {
    /// Plain greedy decoding: the argmax of the model's own logits, no penalty, no stop
    /// (what reference implementations compare against).
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: 1.0,
            repeat_last_n: 0,
            seed: 0,
            repetition_stop: None,
        }
    }
}

/// A token sampler with its own random generator and the recent tokens it penalises.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
    /// The last `repeat_last_n` accepted tokens, oldest first.
    recent: VecDeque<u32>,
    penalised: Vec<f32>,
    scratch: Vec<(usize, f32)>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        Self {
            params,
            rng: StdRng::seed_from_u64(params.seed),
            recent: VecDeque::with_capacity(params.repeat_last_n.min(1024)),
            penalised: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Records a token the generation kept, for the repetition penalty.
    pub fn accept(&mut self, token: u32) {
        if self.params.repeat_last_n == 0 {
            return;
        }
        if self.recent.len() == self.params.repeat_last_n {
            self.recent.pop_front();
        }
        self.recent.push_back(token);
    }

    /// The index of the chosen token.
    pub fn sample(&mut self, logits: &[f32]) -> usize {
        let penalty = self.params.repeat_penalty;
        let logits = if penalty != 1.0 && penalty > 0.0 && !self.recent.is_empty() {
            self.penalised.clear();
            self.penalised.extend_from_slice(logits);
            let mut seen = self.recent.iter().copied().collect::<Vec<_>>();
            seen.sort_unstable();
            seen.dedup();
            // Once per distinct token, however often it occurred (llama.cpp's rule).
            for t in seen {
                if let Some(l) = self.penalised.get_mut(t as usize) {
                    *l = if *l <= 0.0 {
                        *l * penalty
                    } else {
                        *l / penalty
                    };
                }
            }
            &self.penalised[..]
        } else {
            logits
        };
        if self.params.temperature <= 0.0 {
            return argmax(logits);
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // Candidates by descending probability (ties by index, so the order is stable).
        self.scratch.clear();
        self.scratch
            .extend(logits.iter().enumerate().map(|(i, &l)| (i, l)));
        self.scratch
            .sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut kept = self.scratch.len();
        if self.params.top_k > 0 {
            kept = kept.min(self.params.top_k);
        }
        // top-p and min-p on the untempered distribution, as llama.cpp does.
        let weights = |l: f32| (l - max).exp();
        let top_p = self.params.top_p.clamp(0.0, 1.0);
        if top_p < 1.0 {
            let sum: f32 = self.scratch[..kept].iter().map(|&(_, l)| weights(l)).sum();
            let mut acc = 0.0;
            for (i, &(_, l)) in self.scratch[..kept].iter().enumerate() {
                acc += weights(l) / sum;
                if acc >= top_p {
                    kept = i + 1;
                    break;
                }
            }
        }
        if self.params.min_p > 0.0 {
            // The first candidate has weight 1, the most likely token's.
            let floor = self.params.min_p.min(1.0);
            kept = self.scratch[..kept]
                .iter()
                .take_while(|&&(_, l)| weights(l) >= floor)
                .count()
                .max(1);
        }
        let t = self.params.temperature;
        let candidates = &mut self.scratch[..kept];
        for c in candidates.iter_mut() {
            c.1 = ((c.1 - max) / t).exp();
        }
        let total: f32 = candidates.iter().map(|&(_, p)| p).sum();
        let mut r = self.rng.random::<f32>() * total;
        for &(i, p) in candidates.iter() {
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

/// When a generation counts as looping: its last tokens are one span of 1 to
/// `max_period` tokens repeated at least `min_repeats` times in a row, covering at least
/// `min_tokens` tokens (so four identical tokens — a run of spaces, `----` — are not a
/// loop, while the same sentence four times is). The default looks for spans up to a
/// paragraph long: SmolLM2's loops run from one line (`# Cargo.toml`, 6 tokens) to a
/// three-sentence paragraph of over 40 tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepetitionStop {
    pub max_period: usize,
    pub min_repeats: usize,
    pub min_tokens: usize,
}

impl Default for RepetitionStop {
    fn default() -> Self {
        Self {
            max_period: 128,
            min_repeats: 4,
            min_tokens: 32,
        }
    }
}

/// A loop found at the end of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// The length of the repeated span, in tokens (the shortest that fits).
    pub period: usize,
    /// How many times it repeats at the end, counting a partial last copy out.
    pub repeats: usize,
}

impl RepetitionStop {
    /// The loop the end of `tokens` is in, if any. Cheap enough to call after every
    /// token: one check per period, nearly all ending at their first comparison.
    pub fn detect(&self, tokens: &[u32]) -> Option<Cycle> {
        let n = tokens.len();
        for period in 1..=self.max_period.min(n / 2) {
            let repeats = self
                .min_repeats
                .max(2)
                .max(self.min_tokens.div_ceil(period));
            let span = repeats * period;
            if span > n {
                continue;
            }
            let tail = &tokens[n - span..];
            if tail[period..].iter().zip(tail).all(|(a, b)| a == b) {
                // Count every full copy, for the log.
                let more = tokens[..n - period]
                    .iter()
                    .rev()
                    .zip(tokens.iter().rev())
                    .take_while(|(a, b)| a == b)
                    .count();
                return Some(Cycle {
                    period,
                    repeats: (more + period) / period,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.sample(&[0.1, 3.0, 3.0, -1.0]), 1);
    }

    fn hot(seed: u64) -> SamplingParams {
        SamplingParams {
            temperature: 1.0,
            top_p: 0.7,
            seed,
            ..SamplingParams::greedy()
        }
    }

    #[test]
    fn same_seed_same_tokens_and_top_p_cuts_the_tail() {
        let logits = [2.0, 1.9, 0.0, -5.0, 1.0];
        let params = hot(42);
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

    #[test]
    fn top_k_and_min_p_cut_the_tail() {
        let logits = [2.0, 1.9, 0.0, -5.0, 1.0];
        let run = |p| {
            let mut s = Sampler::new(p);
            (0..300).map(|_| s.sample(&logits)).collect::<Vec<_>>()
        };
        let k = run(SamplingParams {
            top_k: 2,
            top_p: 1.0,
            ..hot(3)
        });
        assert!(k.iter().all(|&i| i < 2) && k.contains(&1), "{k:?}");
        // e^(1-2) = 0.37 of the best: kept at min_p 0.3, not at 0.5.
        let loose = run(SamplingParams {
            min_p: 0.3,
            top_p: 1.0,
            ..hot(3)
        });
        assert!(loose.contains(&4) && !loose.contains(&2), "{loose:?}");
        let strict = run(SamplingParams {
            min_p: 0.5,
            top_p: 1.0,
            ..hot(3)
        });
        assert!(strict.iter().all(|&i| i < 2), "{strict:?}");
    }

    #[test]
    fn the_repeat_penalty_steers_greedy_away_from_recent_tokens() {
        let params = SamplingParams {
            repeat_penalty: 1.1,
            repeat_last_n: 2,
            ..SamplingParams::greedy()
        };
        let mut s = Sampler::new(params);
        // 2.0 / 1.1 = 1.82 < 1.9: the repeated token loses its lead.
        assert_eq!(s.sample(&[2.0, 1.9, -1.0]), 0);
        s.accept(0);
        assert_eq!(s.sample(&[2.0, 1.9, -1.0]), 1);
        // Negative logits are multiplied, so penalised tokens still fall.
        s.accept(1);
        assert_eq!(s.sample(&[-1.0, -1.05, -1.08]), 2);
        // Only the last `repeat_last_n` tokens count.
        s.accept(2);
        s.accept(2);
        assert_eq!(s.sample(&[2.0, 1.9, -1.0]), 0);
        // Without a penalty, greedy is the plain argmax whatever was accepted.
        let mut plain = Sampler::new(SamplingParams::greedy());
        plain.accept(0);
        assert_eq!(plain.sample(&[2.0, 1.9, -1.0]), 0);
    }

    #[test]
    fn a_span_repeated_four_times_is_a_loop() {
        let stop = RepetitionStop::default();
        let sentence: Vec<u32> = (100..110).collect();
        let mut tokens: Vec<u32> = vec![1, 2, 3];
        for _ in 0..3 {
            tokens.extend(&sentence);
        }
        assert_eq!(
            stop.detect(&tokens),
            None,
            "three copies are not yet a loop"
        );
        tokens.extend(&sentence);
        assert_eq!(
            stop.detect(&tokens),
            Some(Cycle {
                period: 10,
                repeats: 4
            })
        );
        // The loop is found mid-copy too, by its rotation.
        tokens.extend(&sentence[..3]);
        assert_eq!(stop.detect(&tokens).map(|c| c.period), Some(10));
    }

    #[test]
    fn short_runs_and_ordinary_text_are_not_loops() {
        let stop = RepetitionStop::default();
        // Four (or 31) identical tokens: indentation, a rule line.
        assert_eq!(stop.detect(&[5, 7, 7, 7, 7]), None);
        let mut run = vec![9; 31];
        assert_eq!(stop.detect(&run), None);
        run.push(9);
        assert_eq!(
            stop.detect(&run),
            Some(Cycle {
                period: 1,
                repeats: 32
            })
        );
        // Text that never repeats itself.
        let text: Vec<u32> = (0..500).map(|i| (i * 7919) % 1000).collect();
        assert_eq!(stop.detect(&text), None);
        // A span longer than `max_period` is not looked for.
        let long: Vec<u32> = (0..=stop.max_period as u32).collect();
        let four: Vec<u32> = long.iter().cycle().take(long.len() * 4).copied().collect();
        assert_eq!(stop.detect(&four), None);
        let shorter = RepetitionStop {
            max_period: long.len(),
            ..stop
        };
        assert_eq!(shorter.detect(&four).map(|c| c.repeats), Some(4));
        assert_eq!(stop.detect(&[]), None);
    }
}
