//! Fits a request to what its model can take, once for every adapter.
//!
//! Only what the catalog *knows* is enforced: an image sent to a model the table says is
//! blind is replaced by a note (the API would refuse the whole request), and a thinking
//! budget is dropped for a model the table says cannot think (the API would refuse the
//! parameter). A model the table does not know gets the request as it is.

use cuervo_domain::{Capabilities, ContentBlock, ModelRequest};

use crate::catalog;

/// Applies what the catalog knows about `request.model`. The thinking budget is the
/// request's own: its owner is the caller (the agent's configuration), not the adapter.
pub(crate) fn prepare(request: ModelRequest) -> ModelRequest {
    let known = catalog::lookup(&request.model);
    prepare_with(request, known.as_ref())
}

/// The output tokens a request allows: `max_tokens` for the answer plus the thinking
/// budget, since the providers count thinking against their output limit and the answer
/// keeps its own allowance.
pub(crate) fn output_allowance(request: &ModelRequest) -> u32 {
    request
        .max_tokens
        .saturating_add(request.thinking_budget.unwrap_or(0))
}

/// What `request` may cost at most, thinking included.
pub(crate) fn estimate(request: &ModelRequest) -> Option<cuervo_domain::Cost> {
    let mut request = request.clone();
    request.max_tokens = output_allowance(&request);
    crate::pricing::estimate(&request)
}

/// [`prepare`] with capabilities from elsewhere (Ollama learns them from the server).
pub(crate) fn prepare_with(
    mut request: ModelRequest,
    known: Option<&Capabilities>,
) -> ModelRequest {
    let Some(capabilities) = known else {
        return request;
    };
    if !capabilities.thinking {
        request.thinking_budget = None;
    }
    if !capabilities.vision {
        let note = format!("[image omitted: {} does not accept images]", request.model);
        for message in &mut request.messages {
            for block in &mut message.content {
                if matches!(block, ContentBlock::Image { .. }) {
                    *block = ContentBlock::Text { text: note.clone() };
                }
            }
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{Message, Role};
    use pretty_assertions::assert_eq;

    fn request(model: &str, budget: Option<u32>) -> ModelRequest {
        ModelRequest {
            model: model.into(),
            system: None,
            messages: vec![Message {
                role: Role::User,
                content: vec![
                    ContentBlock::Text {
                        text: "what is this?".into(),
                    },
                    ContentBlock::Image {
                        media_type: "image/png".into(),
                        data_base64: "iVBORw0KGgo=".into(),
                    },
                ],
            }],
            tools: vec![],
            max_tokens: 100,
            temperature: None,
            stream: true,
            thinking_budget: budget,
        }
    }

    #[test]
    fn known_blind_models_get_a_note_instead_of_the_image() {
        let prepared = prepare(request("deepseek-chat", None));
        assert_eq!(
            prepared.messages[0].content[1],
            ContentBlock::Text {
                text: "[image omitted: deepseek-chat does not accept images]".into()
            }
        );
        let seeing = prepare(request("claude-sonnet-4-5", None));
        assert!(matches!(
            seeing.messages[0].content[1],
            ContentBlock::Image { .. }
        ));
        let unknown = prepare(request("llava:13b", None));
        assert!(matches!(
            unknown.messages[0].content[1],
            ContentBlock::Image { .. }
        ));
    }

    #[test]
    fn the_budget_is_the_requests_and_only_for_thinkers() {
        assert_eq!(
            prepare(request("claude-sonnet-4-5", Some(2_000))).thinking_budget,
            Some(2_000)
        );
        assert_eq!(
            prepare(request("claude-sonnet-4-5", None)).thinking_budget,
            None
        );
        assert_eq!(
            prepare(request("gpt-4.1", Some(2_000))).thinking_budget,
            None
        );
        assert_eq!(
            prepare(request("my-local-model", Some(2_000))).thinking_budget,
            Some(2_000)
        );
    }
}
