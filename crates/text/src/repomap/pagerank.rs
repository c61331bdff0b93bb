//! Personalised PageRank by power iteration.
//!
//! Written out here rather than taken from a graph crate: the whole algorithm is the
//! thirty lines below, the graph is already held as weighted out-lists (a graph crate
//! would want its own copy, rebuilt after every edit), and the two details that matter —
//! where dangling nodes send their rank and how convergence is judged — stay visible.

/// Probability of following an edge rather than jumping back to the personalisation.
pub(crate) const DAMPING: f64 = 0.85;

/// Convergence: stop when the L1 change of the rank vector falls below this.
pub(crate) const TOLERANCE: f64 = 1e-6;

/// Iterations at most (85 % damping converges to 1e-6 in well under 100).
pub(crate) const MAX_ITERATIONS: usize = 100;

/// The stationary distribution of a walk that follows weighted out-edges with
/// probability [`DAMPING`] and otherwise jumps to a node drawn from `personal`.
///
/// `out[u]` holds `(v, weight)` edges and `out_total[u]` their weight sum; `personal`
/// must sum to 1. A node without out-edges (dangling) hands its rank to `personal` too,
/// as networkx does by default, so rank is neither lost nor spread over unrelated files.
/// Returns the ranks (summing to 1) and the number of iterations run.
pub(crate) fn pagerank(
    out: &[Vec<(u32, f32)>],
    out_total: &[f64],
    personal: &[f64],
) -> (Vec<f64>, usize) {
    let n = personal.len();
    let mut rank = personal.to_vec();
    let mut next = vec![0.0; n];
    for iteration in 1..=MAX_ITERATIONS {
        let mut dangling = 0.0;
        next.iter_mut().for_each(|x| *x = 0.0);
        for (u, &r) in rank.iter().enumerate() {
            let total = out_total.get(u).copied().unwrap_or(0.0);
            if r == 0.0 {
                continue;
            }
            if total <= 0.0 {
                dangling += r;
                continue;
            }
            let share = DAMPING * r / total;
            for &(v, w) in &out[u] {
                next[v as usize] += share * f64::from(w);
            }
        }
        let jump = 1.0 - DAMPING + DAMPING * dangling;
        let mut change = 0.0;
        for ((x, p), old) in next.iter_mut().zip(personal).zip(&rank) {
            *x += jump * p;
            change += (*x - old).abs();
        }
        std::mem::swap(&mut rank, &mut next);
        if change < TOLERANCE {
            return (rank, iteration);
        }
    }
    (rank, MAX_ITERATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_is_uniform_and_a_sink_collects() {
        let out = vec![vec![(1, 1.0)], vec![(2, 1.0)], vec![(0, 1.0)]];
        let (r, _) = pagerank(&out, &[1.0; 3], &[1.0 / 3.0; 3]);
        for x in &r {
            assert!((x - 1.0 / 3.0).abs() < 1e-6);
        }
        // 0 and 1 both point at 2, which is dangling.
        let out = vec![vec![(2, 1.0)], vec![(2, 1.0)], vec![]];
        let (r, _) = pagerank(&out, &[1.0, 1.0, 0.0], &[1.0 / 3.0; 3]);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(r[2] > r[0] && (r[0] - r[1]).abs() < 1e-12);
    }

    #[test]
    fn personalisation_pulls_rank_towards_its_node() {
        let out = vec![vec![(1, 1.0)], vec![(0, 1.0)], vec![(0, 1.0)]];
        let (r, _) = pagerank(&out, &[1.0; 3], &[0.0, 0.0, 1.0]);
        assert!(r[2] > 0.1 && r[0] > r[1]);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
