//! Sentence embeddings from sentence-transformers checkpoints, on candle (CPU).
//!
//! A checkpoint directory holds `config.json` (a BERT-family encoder), `model.safetensors`,
//! `tokenizer.json`, and the sentence-transformers module list: `modules.json` names a
//! pooling module (`1_Pooling/config.json`: mean, CLS, max or mean-sqrt-len) and maybe a
//! `Normalize` module (L2). [`LocalEmbedder`] does what `SentenceTransformer.encode` does:
//! tokenise with truncation at `max_seq_length` (`sentence_bert_config.json`), run the
//! encoder in batches, pool each text's token vectors, normalise. Batches are not padded:
//! the dense layers see all tokens of a batch stacked, attention runs per text (see
//! `Bert::forward`), which gives the padded-and-masked result for less work.
//!
//! The encoder is written out here (about a hundred lines on `candle-nn`) rather than taken
//! from `candle-transformers`, whose hundreds of model files would add minutes to every
//! cold build for one architecture we use.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationParams};

use crate::error::{Error, Result};

mod short;

/// How token vectors become one sentence vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
    Max,
    MeanSqrtLen,
}

#[derive(Debug, Deserialize)]
struct BertConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "two")]
    type_vocab_size: usize,
    #[serde(default = "eps")]
    layer_norm_eps: f64,
    #[serde(default = "gelu")]
    hidden_act: String,
    #[serde(default)]
    model_type: Option<String>,
}

fn two() -> usize {
    2
}
fn eps() -> f64 {
    1e-12
}
fn gelu() -> String {
    "gelu".into()
}

#[derive(Debug, Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(Debug, Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

/// An embedding model loaded in memory. Cheap to share behind an `Arc`; `embed` takes
/// `&self` and may run on several threads.
pub struct LocalEmbedder {
    path: PathBuf,
    tokenizer: Tokenizer,
    model: Bert,
    pooling: Pooling,
    normalize: bool,
    max_seq_length: usize,
    dim: usize,
    batch_size: usize,
    device: Device,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("path", &self.path)
            .field("pooling", &self.pooling)
            .field("normalize", &self.normalize)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

impl LocalEmbedder {
    /// Loads a sentence-transformers checkpoint directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let err = |reason: String| Error::Embedding {
            path: dir.to_path_buf(),
            reason,
        };
        let read = |name: &str| -> Result<Vec<u8>> {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| Error::io(&p, e))
        };
        let config: BertConfig = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| err(format!("config.json: {e}")))?;
        // RoBERTa offsets positions, MPNet adds relative attention, DistilBERT names its
        // weights differently: each needs its own code, not yet written.
        if let Some(t) = &config.model_type
            && t != "bert"
        {
            return Err(err(format!(
                "model_type `{t}` is not supported yet: only BERT encoders \
                 (all-MiniLM, bge, e5, gte...) run locally"
            )));
        }
        let (pooling, normalize) = read_modules(dir).map_err(err)?;
        let max_seq_length = std::fs::read(dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<SentenceBertConfig>(&b).ok())
            .and_then(|c| c.max_seq_length)
            .unwrap_or(512)
            .min(config.max_position_embeddings);

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| err(format!("tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_length,
                ..Default::default()
            }))
            .map_err(|e| err(format!("tokenizer truncation: {e}")))?;
        // No padding: the encoder takes each text at its own length.
        tokenizer.with_padding(None);

        let device = Device::Cpu;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| err(format!("model.safetensors: {e}")))?;
        let model = Bert::load(vb, &config).map_err(|e| err(format!("weights: {e}")))?;
        Ok(Self {
            path: dir.to_path_buf(),
            tokenizer,
            model,
            pooling,
            normalize,
            max_seq_length,
            dim: config.hidden_size,
            batch_size: 32,
            device,
        })
    }

    /// The vector length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    pub fn normalizes(&self) -> bool {
        self.normalize
    }

    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// How many texts go through the encoder at once (default 32).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Embeds `texts`, one vector each, in input order.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        let err = |reason: String| Error::Embedding {
            path: self.path.clone(),
            reason,
        };
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.batch_size) {
            let batch: Vec<&str> = chunk.iter().map(AsRef::as_ref).collect();
            out.extend(self.embed_batch(&batch).map_err(err)?);
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, String> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| format!("tokenizer: {e}"))?;
        // Without padding: each text keeps its own length (see `Bert::forward`).
        let seqs: Vec<(Vec<u32>, Vec<u32>)> = encodings
            .iter()
            .map(|e| {
                let n = e
                    .get_attention_mask()
                    .iter()
                    .filter(|&&m| m == 1)
                    .count()
                    .max(1);
                (e.get_ids()[..n].to_vec(), e.get_type_ids()[..n].to_vec())
            })
            .collect();
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let hidden = match seqs.as_slice() {
                [(ids, types)] if ids.len() <= short::SHORT_MAX_TOKENS => {
                    self.model.forward_short(ids, types, &self.device)?
                }
                _ => self.model.forward(&seqs, &self.device)?,
            };
            let mut out = Vec::with_capacity(seqs.len());
            let mut offset = 0;
            for (ids, _) in &seqs {
                let rows = hidden.narrow(0, offset, ids.len())?;
                offset += ids.len();
                let v = pool(&rows, self.pooling)?;
                let v = if self.normalize {
                    let norm = v.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?.max(1e-12);
                    (v / f64::from(norm))?
                } else {
                    v
                };
                out.push(v.to_vec1::<f32>()?);
            }
            Ok(out)
        };
        run().map_err(|e| e.to_string())
    }
}

fn read_modules(dir: &Path) -> std::result::Result<(Pooling, bool), String> {
    let modules: Vec<ModuleEntry> = match std::fs::read(dir.join("modules.json")) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("modules.json: {e}"))?,
        // A bare transformer checkpoint: mean pooling, as sentence-transformers assumes.
        Err(_) => return Ok((Pooling::Mean, false)),
    };
    let mut pooling = Pooling::Mean;
    let mut normalize = false;
    for m in &modules {
        if m.kind.ends_with("Pooling") {
            let p = dir.join(&m.path).join("config.json");
            let b = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let c: PoolingConfig =
                serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", p.display()))?;
            pooling = if c.pooling_mode_cls_token {
                Pooling::Cls
            } else if c.pooling_mode_max_tokens {
                Pooling::Max
            } else if c.pooling_mode_mean_sqrt_len_tokens {
                Pooling::MeanSqrtLen
            } else if c.pooling_mode_mean_tokens {
                Pooling::Mean
            } else {
                return Err(format!("{}: no pooling mode is set", p.display()));
            };
        } else if m.kind.ends_with("Normalize") {
            normalize = true;
        } else if !m.kind.ends_with("Transformer") {
            return Err(format!("module `{}` is not supported", m.kind));
        }
    }
    Ok((pooling, normalize))
}

/// Pools the token vectors of one text (`rows`: [tokens, hidden], no padding).
fn pool(rows: &Tensor, pooling: Pooling) -> candle_core::Result<Tensor> {
    match pooling {
        Pooling::Cls => rows.get(0),
        Pooling::Max => rows.max(0),
        Pooling::Mean => rows.mean(0),
        Pooling::MeanSqrtLen => {
            let n = rows.dim(0)? as f64;
            rows.sum(0)? / n.sqrt()
        }
    }
}

/// A BERT encoder (post-layer-norm, absolute positions), as `transformers`' `BertModel`.
struct Bert {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    ln: LayerNorm,
    layers: Vec<Layer>,
    /// The same layers for [`short`]'s pass over one short text.
    short: Vec<short::ShortLayer>,
    heads: usize,
    approx_gelu: bool,
}

struct Layer {
    q: Dense,
    k: Dense,
    v: Dense,
    o: Dense,
    ln1: LayerNorm,
    up: Dense,
    down: Dense,
    ln2: LayerNorm,
}

/// A dense layer with its weight stored transposed (`[in, out]`, contiguous), not as the
/// checkpoint's `[out, in]`: `gemm` then reads it in place instead of repacking the
/// strided transpose on every call (a quarter less time for a batch's products).
struct Dense {
    weight_t: Tensor,
    bias: Tensor,
}

impl Dense {
    fn load(in_dim: usize, out_dim: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        let linear = candle_nn::linear(in_dim, out_dim, vb)?;
        let bias = match linear.bias() {
            Some(b) => b.clone(),
            None => Tensor::zeros(out_dim, linear.weight().dtype(), linear.weight().device())?,
        };
        Ok(Self {
            weight_t: linear.weight().t()?.contiguous()?,
            bias,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(&self.weight_t)?.broadcast_add(&self.bias)
    }

    fn parts(&self) -> (&Tensor, &Tensor) {
        (&self.weight_t, &self.bias)
    }
}

impl Bert {
    fn load(vb: VarBuilder, c: &BertConfig) -> candle_core::Result<Self> {
        // Some checkpoints prefix every name with `bert.`.
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let h = c.hidden_size;
        let ln = |vb: VarBuilder| candle_nn::layer_norm(h, c.layer_norm_eps, vb);
        let e = vb.pp("embeddings");
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            layers.push(Layer {
                q: Dense::load(h, h, a.pp("self.query"))?,
                k: Dense::load(h, h, a.pp("self.key"))?,
                v: Dense::load(h, h, a.pp("self.value"))?,
                o: Dense::load(h, h, a.pp("output.dense"))?,
                ln1: ln(a.pp("output.LayerNorm"))?,
                up: Dense::load(h, c.intermediate_size, l.pp("intermediate.dense"))?,
                down: Dense::load(c.intermediate_size, h, l.pp("output.dense"))?,
                ln2: ln(l.pp("output.LayerNorm"))?,
            });
        }
        let short = layers
            .iter()
            .map(|l| {
                short::ShortLayer::new(&short::LayerParts {
                    q: l.q.parts(),
                    k: l.k.parts(),
                    v: l.v.parts(),
                    o: l.o.parts(),
                    ln1: &l.ln1,
                    up: l.up.parts(),
                    down: l.down.parts(),
                    ln2: &l.ln2,
                })
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            short,
            word: candle_nn::embedding(c.vocab_size, h, e.pp("word_embeddings"))?,
            position: candle_nn::embedding(
                c.max_position_embeddings,
                h,
                e.pp("position_embeddings"),
            )?,
            token_type: candle_nn::embedding(c.type_vocab_size, h, e.pp("token_type_embeddings"))?,
            ln: ln(e.pp("LayerNorm"))?,
            layers,
            heads: c.num_attention_heads,
            approx_gelu: c.hidden_act == "gelu_new" || c.hidden_act == "gelu_pytorch_tanh",
        })
    }

    /// The normalised sum of word, position and token-type embeddings, `[tokens, hidden]`.
    fn embed_tokens(
        &self,
        ids: Vec<u32>,
        types: Vec<u32>,
        positions: Vec<u32>,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let n = ids.len();
        let x = self
            .word
            .forward(&Tensor::from_vec(ids, n, device)?)?
            .add(
                &self
                    .position
                    .forward(&Tensor::from_vec(positions, n, device)?)?,
            )?
            .add(
                &self
                    .token_type
                    .forward(&Tensor::from_vec(types, n, device)?)?,
            )?;
        self.ln.forward(&x)
    }

    /// Encodes one short sequence (at most [`short::SHORT_MAX_TOKENS`]) with the short
    /// pass: a search query's latency.
    fn forward_short(
        &self,
        ids: &[u32],
        types: &[u32],
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let positions = (0..ids.len() as u32).collect();
        let x = self.embed_tokens(ids.to_vec(), types.to_vec(), positions, device)?;
        short::encode(&self.short, x, self.heads, self.approx_gelu)
    }

    /// Encodes a batch of sequences (token ids, type ids) **without padding**: the
    /// tokens of all sequences are stacked into one `[total, hidden]` matrix for the
    /// dense layers, and attention runs per sequence over its own length. The result is
    /// what a padded, masked batch gives, without spending time on padding (the batch
    /// that holds one 256-token text and 31 short ones is ~4x cheaper).
    fn forward(
        &self,
        seqs: &[(Vec<u32>, Vec<u32>)],
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let ids: Vec<u32> = seqs.iter().flat_map(|(i, _)| i.iter().copied()).collect();
        let types: Vec<u32> = seqs.iter().flat_map(|(_, t)| t.iter().copied()).collect();
        let positions: Vec<u32> = seqs.iter().flat_map(|(i, _)| 0..i.len() as u32).collect();
        let mut x = self.embed_tokens(ids, types, positions, device)?;
        let hidden = x.dim(1)?;
        let hd = hidden / self.heads;
        let scale = 1.0 / (hd as f64).sqrt();
        for l in &self.layers {
            let q = (l.q.forward(&x)? * scale)?;
            let k = l.k.forward(&x)?;
            let v = l.v.forward(&x)?;
            let mut contexts = Vec::with_capacity(seqs.len());
            let mut offset = 0;
            for (seq, _) in seqs {
                let len = seq.len();
                let heads = |t: &Tensor| -> candle_core::Result<Tensor> {
                    t.narrow(0, offset, len)?
                        .reshape((len, self.heads, hd))?
                        .transpose(0, 1)?
                        .contiguous()
                };
                let (qs, ks, vs) = (heads(&q)?, heads(&k)?, heads(&v)?);
                let probs = candle_nn::ops::softmax_last_dim(&qs.matmul(&ks.t()?)?)?;
                contexts.push(probs.matmul(&vs)?.transpose(0, 1)?.reshape((len, hidden))?);
                offset += len;
            }
            let ctx = Tensor::cat(&contexts, 0)?;
            let attn = l.ln1.forward(&(l.o.forward(&ctx)? + &x)?)?;
            let up = l.up.forward(&attn)?;
            let act = if self.approx_gelu {
                up.gelu()?
            } else {
                up.gelu_erf()?
            };
            x = l.ln2.forward(&(l.down.forward(&act)? + &attn)?)?;
        }
        Ok(x)
    }
}

/// The cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(f32::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_json_decides_pooling_and_normalisation() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("1_Pooling")).unwrap();
        std::fs::write(
            dir.path().join("modules.json"),
            r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("1_Pooling/config.json"),
            r#"{"word_embedding_dimension":8,"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}"#,
        )
        .unwrap();
        assert_eq!(read_modules(dir.path()).unwrap(), (Pooling::Cls, false));
        std::fs::write(
            dir.path().join("modules.json"),
            r#"[{"path":"","type":"sentence_transformers.models.Transformer"},
                {"path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                {"path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#,
        )
        .unwrap();
        assert_eq!(read_modules(dir.path()).unwrap(), (Pooling::Cls, true));
    }

    #[test]
    fn pooling_modes() {
        let d = Device::Cpu;
        let rows = Tensor::new(&[[1f32, 2.], [3., 4.], [5., 0.]], &d).unwrap();
        let v = |p| pool(&rows, p).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(v(Pooling::Mean), vec![3., 2.]);
        assert_eq!(v(Pooling::Max), vec![5., 4.]);
        assert_eq!(v(Pooling::Cls), vec![1., 2.]);
        let s = v(Pooling::MeanSqrtLen);
        assert!((s[0] - 9. / 3f32.sqrt()).abs() < 1e-5);
    }
}
