//! The model store: import (symlink and copy), list, remove, pull from a mock hub.

use cuervo_local::gguf::{Value, write_header};
use cuervo_local::{ImportMode, ModelKind, ModelSource, ModelStore};
use pretty_assertions::assert_eq;

use super::hub::{Mock, sha256_hex};

fn tiny_gguf(arch: &str) -> Vec<u8> {
    write_header(&[
        ("general.architecture", Value::String(arch.into())),
        (&format!("{arch}.context_length"), Value::U64(4096)),
    ])
}

fn st_dir(root: &std::path::Path) -> std::path::PathBuf {
    let d = root.join("mini-st");
    std::fs::create_dir_all(d.join("1_Pooling")).unwrap();
    std::fs::write(d.join("config.json"), "{}").unwrap();
    std::fs::write(d.join("model.safetensors"), "weights").unwrap();
    std::fs::write(d.join("tokenizer.json"), "{}").unwrap();
    std::fs::write(d.join("1_Pooling/config.json"), "{}").unwrap();
    d
}

#[test]
fn import_list_and_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::open(tmp.path().join("store")).unwrap();
    let gguf = tmp.path().join("Tiny Chat.gguf");
    std::fs::write(&gguf, tiny_gguf("llama")).unwrap();
    let bert = tmp.path().join("enc.gguf");
    std::fs::write(&bert, tiny_gguf("bert")).unwrap();
    let st = st_dir(tmp.path());

    let chat = store.import(&gguf, None, ImportMode::Symlink).unwrap();
    assert_eq!(
        (chat.name.as_str(), chat.kind),
        ("Tiny-Chat", ModelKind::Chat)
    );
    assert_eq!(chat.sha256, sha256_hex(&tiny_gguf("llama")));
    assert_eq!(chat.size, tiny_gguf("llama").len() as u64);
    assert!(
        std::fs::symlink_metadata(&chat.path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let enc = store.import(&bert, Some("enc"), ImportMode::Copy).unwrap();
    assert_eq!(enc.kind, ModelKind::Embedding);
    assert!(
        !std::fs::symlink_metadata(&enc.path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let emb = store.import(&st, None, ImportMode::Symlink).unwrap();
    assert_eq!(
        (emb.name.as_str(), emb.kind),
        ("mini-st", ModelKind::Embedding)
    );
    assert_eq!(emb.size, 2 + 7 + 2 + 2);

    let dup = store.import(&gguf, None, ImportMode::Symlink).unwrap_err();
    assert!(dup.to_string().contains("already exists"), "{dup}");
    let junk = tmp.path().join("notes.txt");
    std::fs::write(&junk, "hello").unwrap();
    assert!(store.import(&junk, None, ImportMode::Copy).is_err());

    let names: Vec<String> = store.list().unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, vec!["Tiny-Chat", "enc", "mini-st"]);
    // A reopened store reads the same index.
    let again = ModelStore::open(store.dir()).unwrap();
    assert_eq!(again.get("enc").unwrap().unwrap(), enc);

    let removed = store.remove("Tiny-Chat").unwrap();
    assert_eq!(
        removed.source,
        ModelSource::Imported {
            from: gguf.canonicalize().unwrap()
        }
    );
    assert!(gguf.exists(), "the original is kept");
    assert!(!chat.path.exists() && std::fs::symlink_metadata(&chat.path).is_err());
    store.remove("mini-st").unwrap();
    assert!(st.join("model.safetensors").exists());
    assert!(store.remove("Tiny-Chat").is_err());
    assert_eq!(store.list().unwrap().len(), 1);
}

#[tokio::test]
async fn pull_picks_the_q4_k_m_gguf_and_the_embedding_files() {
    let mut mock = Mock::default();
    let gguf = tiny_gguf("qwen2");
    mock.add("org/chat-GGUF", "chat-Q8_0.gguf", tiny_gguf("qwen2"), true);
    mock.add("org/chat-GGUF", "chat-Q4_K_M.gguf", gguf.clone(), true);
    mock.add("org/chat-GGUF", "README.md", b"hi".to_vec(), false);
    for (f, body) in [
        ("config.json", "{}"),
        ("tokenizer.json", "{}"),
        ("model.safetensors", "w"),
        ("modules.json", "[]"),
        ("1_Pooling/config.json", "{}"),
    ] {
        mock.add(
            "org/mini",
            f,
            body.as_bytes().to_vec(),
            f.ends_with("safetensors"),
        );
    }
    let (url, _) = mock.serve().await;
    let hub = cuervo_local::HubClient::new(url, None);
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::open(tmp.path()).unwrap();

    let mut last = None;
    let chat = store
        .pull("org/chat-GGUF", &hub, None, &mut |p| last = Some(p.clone()))
        .await
        .unwrap();
    assert_eq!(
        (chat.name.as_str(), chat.kind),
        ("chat-Q4_K_M", ModelKind::Chat)
    );
    assert_eq!(chat.sha256, sha256_hex(&gguf));
    assert_eq!(last.unwrap().downloaded, gguf.len() as u64);
    assert_eq!(
        chat.source,
        ModelSource::Pulled {
            repo: "org/chat-GGUF".into(),
            file: Some("chat-Q4_K_M.gguf".into()),
            revision: "main".into()
        }
    );

    let q8 = store
        .pull(
            "org/chat-GGUF:chat-Q8_0.gguf",
            &hub,
            Some("q8"),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(q8.name, "q8");

    let emb = store
        .pull("org/mini", &hub, None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (emb.name.as_str(), emb.kind),
        ("mini", ModelKind::Embedding)
    );
    assert!(emb.path.join("1_Pooling/config.json").exists());
    assert!(!emb.path.join("sentence_bert_config.json").exists());
    assert_eq!(store.list().unwrap().len(), 3);

    let err = store
        .pull("org/missing", &hub, None, &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
