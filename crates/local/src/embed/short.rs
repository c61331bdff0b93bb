//! One short text through the encoder: the four matrix products of a layer in `candle`
//! with `f16` weights, everything between them in plain loops.
//!
//! A search query is a handful of tokens. For it the encoder's dense layers are
//! matrix-vector products bound by reading the weights (42 MB in `f32` for MiniLM-L6),
//! and the small operations between them (norms, attention, GELU) cost more in tensor
//! bookkeeping and thread hand-offs than in arithmetic. Reading the weights in `f16`
//! and doing the rest on plain slices took a 9-token query from 6.2 ms to 3.x ms on two
//! cores (see `LocalEmbedder::embed`). Activations stay `f32`, and the query's vector
//! stays within 1e-4 cosine of sentence-transformers' (tested).

use candle_core::{DType, Device, Tensor};
use candle_nn::LayerNorm;

/// Up to this many tokens, a single text takes the short pass.
pub(super) const SHORT_MAX_TOKENS: usize = 32;

/// A layer's weights for the short pass.
pub(super) struct ShortLayer {
    /// Query, key and value weights side by side: `[hidden, 3 × hidden]`, `f16`.
    qkv: Tensor,
    qkv_bias: Vec<f32>,
    o: Tensor,
    o_bias: Vec<f32>,
    ln1: Norm,
    up: Tensor,
    up_bias: Vec<f32>,
    down: Tensor,
    down_bias: Vec<f32>,
    ln2: Norm,
}

/// The parts of one encoder layer, as the batch path holds them (`weights`: transposed
/// to `[in, out]`, `f32`).
pub(super) struct LayerParts<'a> {
    pub q: (&'a Tensor, &'a Tensor),
    pub k: (&'a Tensor, &'a Tensor),
    pub v: (&'a Tensor, &'a Tensor),
    pub o: (&'a Tensor, &'a Tensor),
    pub ln1: &'a LayerNorm,
    pub up: (&'a Tensor, &'a Tensor),
    pub down: (&'a Tensor, &'a Tensor),
    pub ln2: &'a LayerNorm,
}

impl ShortLayer {
    pub(super) fn new(p: &LayerParts<'_>) -> candle_core::Result<Self> {
        let half = |w: &Tensor| w.to_dtype(DType::F16);
        let bias = |b: &Tensor| b.to_vec1::<f32>();
        let qkv = Tensor::cat(&[p.q.0, p.k.0, p.v.0], 1)?;
        let mut qkv_bias = bias(p.q.1)?;
        qkv_bias.extend(bias(p.k.1)?);
        qkv_bias.extend(bias(p.v.1)?);
        Ok(Self {
            qkv: half(&qkv)?,
            qkv_bias,
            o: half(p.o.0)?,
            o_bias: bias(p.o.1)?,
            ln1: Norm::new(p.ln1)?,
            up: half(p.up.0)?,
            up_bias: bias(p.up.1)?,
            down: half(p.down.0)?,
            down_bias: bias(p.down.1)?,
            ln2: Norm::new(p.ln2)?,
        })
    }
}

/// A layer norm's parameters as plain vectors.
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn new(ln: &LayerNorm) -> candle_core::Result<Self> {
        let weight = ln.weight().to_vec1::<f32>()?;
        let bias = match ln.bias() {
            Some(b) => b.to_vec1::<f32>()?,
            None => vec![0.0; weight.len()],
        };
        Ok(Self {
            weight,
            bias,
            eps: ln.eps() as f32,
        })
    }

    /// Normalises each row of `x` in place.
    fn apply(&self, x: &mut [f32]) {
        let h = self.weight.len();
        for row in x.chunks_exact_mut(h) {
            let mean = row.iter().sum::<f32>() / h as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
            let inv = 1.0 / (var + self.eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

/// Runs the encoder layers over `x` (`[tokens, hidden]`, embeddings already normalised).
pub(super) fn encode(
    layers: &[ShortLayer],
    x: Tensor,
    heads: usize,
    approx_gelu: bool,
) -> candle_core::Result<Tensor> {
    let (n, h) = x.dims2()?;
    let mut x = x.flatten_all()?.to_vec1::<f32>()?;
    for l in layers {
        let qkv = product(&x, n, &l.qkv, &l.qkv_bias)?;
        let ctx = attention(&qkv, n, h, heads);
        let mut attn = product(&ctx, n, &l.o, &l.o_bias)?;
        add(&mut attn, &x);
        l.ln1.apply(&mut attn);
        let mut up = product(&attn, n, &l.up, &l.up_bias)?;
        for v in &mut up {
            *v = if approx_gelu {
                gelu_tanh(*v)
            } else {
                gelu_erf(*v)
            };
        }
        let mut down = product(&up, n, &l.down, &l.down_bias)?;
        add(&mut down, &attn);
        l.ln2.apply(&mut down);
        x = down;
    }
    Tensor::from_vec(x, (n, h), &Device::Cpu)
}

/// `x · w + bias` for `x`: `[rows, in]` in `f32`, `w`: `[in, out]` in `f16`.
fn product(x: &[f32], rows: usize, w: &Tensor, bias: &[f32]) -> candle_core::Result<Vec<f32>> {
    let cols = x.len() / rows.max(1);
    let mut y = Tensor::from_slice(x, (rows, cols), &Device::Cpu)?
        .to_dtype(DType::F16)?
        .matmul(w)?
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    for row in y.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
    Ok(y)
}

/// Scaled dot-product attention over all `n` tokens (no padding, no mask), per head.
/// `qkv`: `[n, 3 × h]`, queries, keys and values side by side. Returns `[n, h]`.
fn attention(qkv: &[f32], n: usize, h: usize, heads: usize) -> Vec<f32> {
    let hd = h / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let row = |t: usize, part: usize, head: usize| {
        let start = t * 3 * h + part * h + head * hd;
        &qkv[start..start + hd]
    };
    let mut out = vec![0f32; n * h];
    let mut scores = vec![0f32; n];
    for head in 0..heads {
        for i in 0..n {
            let q = row(i, 0, head);
            for (j, s) in scores.iter_mut().enumerate() {
                *s = q
                    .iter()
                    .zip(row(j, 1, head))
                    .map(|(a, b)| a * b)
                    .sum::<f32>()
                    * scale;
            }
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut total = 0.0;
            for s in &mut scores {
                *s = (*s - max).exp();
                total += *s;
            }
            let ctx = &mut out[i * h + head * hd..i * h + (head + 1) * hd];
            for (j, s) in scores.iter().enumerate() {
                let p = s / total;
                for (c, v) in ctx.iter_mut().zip(row(j, 2, head)) {
                    *c += p * v;
                }
            }
        }
    }
    out
}

fn add(x: &mut [f32], residual: &[f32]) {
    for (v, r) in x.iter_mut().zip(residual) {
        *v += r;
    }
}

/// GELU with the error function, as `candle`'s `gelu_erf` (and PyTorch's default).
fn gelu_erf(v: f32) -> f32 {
    (candle_core::cpu::erf::erf_f32(v * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * v
}

/// GELU's tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
fn gelu_tanh(v: f32) -> f32 {
    let c = (2.0 / std::f32::consts::PI).sqrt();
    0.5 * v * (1.0 + (c * (v + 0.044_715 * v * v * v)).tanh())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_of_one_token_is_its_value() {
        // One token, two heads of two dimensions: softmax over one key is 1.
        let qkv = [1.0, 2.0, 3.0, 4.0, 0.5, 0.5, 0.5, 0.5, 9.0, 8.0, 7.0, 6.0];
        assert_eq!(attention(&qkv, 1, 4, 2), vec![9.0, 8.0, 7.0, 6.0]);
    }

    #[test]
    fn attention_weighs_values_by_softmax_of_scaled_scores() {
        // Two tokens, one head of one dimension: scores q·k / 1.
        let qkv = [1.0, 0.0, 10.0, 1.0, 2.0, 20.0];
        let out = attention(&qkv, 2, 1, 1);
        let (p0, p1) = (1.0 / (1.0 + 2f32.exp()), 2f32.exp() / (1.0 + 2f32.exp()));
        assert!((out[0] - (p0 * 10.0 + p1 * 20.0)).abs() < 1e-5);
        assert!((out[1] - (p0 * 10.0 + p1 * 20.0)).abs() < 1e-5);
    }
}
