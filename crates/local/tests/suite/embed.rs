//! Local embeddings with all-MiniLM-L6-v2 match sentence-transformers' vectors.

use cuervo_domain::ModelProvider;
use cuervo_local::{LocalEmbedder, LocalOptions, LocalProvider, Pooling, cosine};

use super::common::{fixture, minilm};

#[test]
fn embeddings_match_sentence_transformers_within_1e_4_cosine() {
    let fx = fixture("minilm-embeddings.json");
    let sentences: Vec<String> = serde_json::from_value(fx["sentences"].clone()).unwrap();
    let want: Vec<Vec<f32>> = serde_json::from_value(fx["embeddings"].clone()).unwrap();
    assert_eq!(sentences.len(), 20);
    let e = LocalEmbedder::load(&minilm()).unwrap();
    assert_eq!(
        (e.dim(), e.pooling(), e.normalizes(), e.max_seq_length()),
        (384, Pooling::Mean, true, 256)
    );
    let got = e.embed(&sentences).unwrap();
    let mut worst: f32 = 0.0;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let c = cosine(g, w);
        worst = worst.max(1.0 - c);
        assert!(
            1.0 - c <= 1e-4,
            "sentence {i} ({:?}): cosine {c}",
            sentences[i]
        );
        let norm: f32 = g.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "normalised, got {norm}");
    }
    eprintln!("largest 1 - cosine against sentence-transformers: {worst:e}");
    // Batching and order do not change the vectors.
    let small = LocalEmbedder::load(&minilm()).unwrap().with_batch_size(3);
    let reversed: Vec<String> = sentences.iter().rev().cloned().collect();
    let again = small.embed(&reversed).unwrap();
    for (i, v) in again.iter().rev().enumerate() {
        assert!(
            1.0 - cosine(v, &got[i]) < 1e-5,
            "sentence {i} changed with batching"
        );
    }
}

/// A query is one short text, embedded with `f16` weights for speed: it must stay as
/// close to sentence-transformers as the batched `f32` path, and to that path itself.
#[test]
fn one_short_text_at_a_time_matches_sentence_transformers_within_1e_4_cosine() {
    let fx = fixture("minilm-embeddings.json");
    let sentences: Vec<String> = serde_json::from_value(fx["sentences"].clone()).unwrap();
    let want: Vec<Vec<f32>> = serde_json::from_value(fx["embeddings"].clone()).unwrap();
    let e = LocalEmbedder::load(&minilm()).unwrap();
    let batched = e.embed(&sentences).unwrap();
    let mut worst: f32 = 0.0;
    for (i, sentence) in sentences.iter().enumerate() {
        let alone = e.embed(std::slice::from_ref(sentence)).unwrap().remove(0);
        let c = cosine(&alone, &want[i]);
        worst = worst.max(1.0 - c);
        assert!(
            1.0 - c <= 1e-4,
            "sentence {i} ({sentence:?}) alone: cosine {c}"
        );
        let c = cosine(&alone, &batched[i]);
        assert!(
            1.0 - c <= 1e-4,
            "sentence {i} alone against batched: cosine {c}"
        );
        let norm: f32 = alone.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "normalised, got {norm}");
    }
    eprintln!("one at a time, largest 1 - cosine against sentence-transformers: {worst:e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_embeds_with_the_configured_model() {
    let p = LocalProvider::new(
        None,
        LocalOptions {
            embedding_model: Some(minilm().to_string_lossy().into_owned()),
            ..LocalOptions::default()
        },
    );
    let v = p
        .embed(&["hello".to_owned(), "world".to_owned()])
        .await
        .unwrap();
    assert_eq!((v.len(), v[0].len()), (2, 384));
    let none = LocalProvider::new(None, LocalOptions::default());
    let err = none.embed(&["x".to_owned()]).await.unwrap_err();
    assert!(err.message.contains("embedding model"), "{}", err.message);
}
