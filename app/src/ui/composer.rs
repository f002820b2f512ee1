//! The composer: the textarea, Send, Steer and Stop, image attachments, the outbox line and
//! inline errors.
//!
//! The typed text lives in the textarea itself (read through a node ref), not in a signal bound
//! with `prop:value`: hydration would otherwise overwrite whatever was typed before the wasm
//! arrived. A send validates, gets a client id, joins the outbox and only then clears the field;
//! anything refused stays in the field, and a message the server rejects is put back.
//!
//! Steer (its button while a run is active, or Ctrl/Cmd+Enter) sends the text into the running
//! turn; Enter still queues. Images (the file input, paste, or drop on the composer) are uploaded
//! at once with `fetch` (`POST /api/v1/images`, the file as the body) and wait under the field,
//! removable, until the next send carries their ids. The server sniffs and limits them; the
//! checks here only save a pointless upload. File names are text (`html_text`).

use leptos::ev;
use leptos::prelude::*;

use super::state::{ChatState, ConnState, Flash};
#[cfg(feature = "hydrate")]
use crate::text::html_text;

/// What the server accepts (PRODUCT: 8 at most); checked here only to say so early.
#[cfg(feature = "hydrate")]
const MAX_IMAGES: usize = 8;
#[cfg(feature = "hydrate")]
const TOO_MANY: &str = "A message may carry at most 8 images.";

#[component]
pub fn Composer() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let running = move || state.transcript.with(|t| t.is_running());

    let on_keydown = move |ev: ev::KeyboardEvent| {
        // Enter sends, Shift+Enter is a newline; an IME composition's Enter is neither.
        // Ctrl/Cmd+Enter steers the running turn (or sends, when nothing runs).
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            let steer = (ev.ctrl_key() || ev.meta_key()) && running();
            submit(state, steer);
        }
    };
    let on_input = move |_| {
        if matches!(state.flash.get_untracked(), Some(Flash::Hint(_))) {
            state.flash.set(None);
        }
    };
    let on_stop = move |_| stop(state);
    let on_paste = move |ev: ev::ClipboardEvent| attach_pasted(state, ev);
    let on_drop = move |ev: ev::DragEvent| attach_dropped(state, ev);
    let on_dragover = move |ev: ev::DragEvent| ev.prevent_default();
    let on_pick = move |ev: ev::Event| attach_picked(state, ev);
    let on_remove = move |ev: ev::MouseEvent| remove_clicked(state, ev);

    view! {
        <div class="composer" on:drop=on_drop on:dragover=on_dragover>
            <div class="composer-row">
                <textarea
                    data-testid="composer"
                    node_ref=state.composer
                    rows="2"
                    placeholder="Message Codex…"
                    aria-label="Message"
                    on:keydown=on_keydown
                    on:input=on_input
                    on:paste=on_paste
                ></textarea>
                <div class="composer-buttons">
                    <button
                        class="primary"
                        data-testid="send"
                        type="button"
                        on:click=move |_| submit(state, false)
                    >
                        "Send"
                    </button>
                    <button
                        data-testid="steer"
                        type="button"
                        title="Send into the running turn (Ctrl+Enter)"
                        hidden=move || !running()
                        on:click=move |_| submit(state, true)
                    >
                        "Steer"
                    </button>
                    <label class="attach" title="Attach images">
                        "Attach"
                        <input
                            data-testid="attach"
                            type="file"
                            accept="image/*"
                            multiple
                            on:change=on_pick
                        />
                    </label>
                    <button
                        class="danger"
                        data-testid="stop"
                        type="button"
                        disabled=move || !running()
                        on:click=on_stop
                    >
                        "Stop"
                    </button>
                </div>
            </div>
            // Kept by hand (`show_attachment`, `remove_clicked`), not by a reactive list: the
            // same markup for a fraction of the wasm a keyed list costs.
            <ul class="attachments" node_ref=state.attachment_list on:click=on_remove></ul>
            <div class="composer-status" aria-live="polite">
                <For
                    each=move || state.outbox.get()
                    key=|p| p.client_id.clone()
                    children=move |p| {
                        let label = move || {
                            if state.conn.get() == ConnState::Connected {
                                "Sending…"
                            } else {
                                "Waiting for the connection:"
                            }
                        };
                        view! {
                            <p class="pending">
                                <span class="pending-label">{label}</span>
                                " "
                                <span class="pending-text">{preview(&p.text)}</span>
                            </p>
                        }
                    }
                />
                {move || {
                    state
                        .flash
                        .get()
                        .map(|flash| {
                            let (class, role, text) = match flash {
                                Flash::Hint(text) => ("hint", None, text),
                                Flash::Error(text) => ("error", Some("alert"), text),
                            };
                            view! { <p class=class role=role>{text}</p> }
                        })
                }}
                <p
                    class="keys muted"
                    inner_html=super::attention::server_only(
                        "Enter to send · Shift+Enter for a new line · Ctrl+Enter to steer a running turn · ? for all keys",
                    )
                ></p>
            </div>
        </div>
    }
}

/// The first line of a message, shortened, for the outbox line.
fn preview(text: &str) -> String {
    const MAX: usize = 80;
    let line = text.trim().lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(MAX).collect();
    if line.chars().count() > MAX || text.trim().lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// Validates the composer's text and queues it with the attached images, to be steered into the
/// running turn when `steer`. Browser only; the server never handles events.
fn submit(state: ChatState, steer: bool) {
    #[cfg(feature = "hydrate")]
    {
        use super::state::{Command, Pending};
        use crate::wire::{validate_message, MAX_MESSAGE_BYTES};

        let Some(area) = state.composer.get_untracked() else {
            return;
        };
        if state.uploading.get_value() > 0 {
            let wait = "Wait until the images are uploaded.".to_owned();
            state.flash.set(Some(Flash::Hint(wait)));
            return;
        }
        let text = area.value();
        let images: Vec<String> = state
            .attachments
            .with_value(|list| list.iter().map(|i| i.id.clone()).collect());
        if text.trim().is_empty() && images.is_empty() {
            state
                .flash
                .set(Some(Flash::Hint("Type a message first.".to_owned())));
            return;
        }
        let checked = if text.is_empty() {
            Ok(text.as_str())
        } else {
            validate_message(&text)
        };
        if let Err(reason) = checked {
            let reason = if text.len() > MAX_MESSAGE_BYTES {
                format!("{reason} Shorten it and send again; your text is still here.",)
            } else {
                reason
            };
            state.flash.set(Some(Flash::Error(reason)));
            return;
        }
        let pending = Pending {
            client_id: super::browser::new_client_id(),
            text,
            steer,
            images,
        };
        state.attachments.set_value(Vec::new());
        if let Some(list) = state.attachment_list.get_untracked() {
            list.set_text_content(None);
        }
        let client_id = pending.client_id.clone();
        state.outbox.update(|o| o.push(pending));
        state.flash.set(None);
        // Whoever sends wants to see the reply, wherever they had scrolled to.
        state.follow.set_value(true);
        // Queued: from here the outbox owns the text, so the field can be cleared.
        area.set_value("");
        // If the socket is closed this goes nowhere; the outbox is flushed on the next open.
        state.command(Command::Send(client_id));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, steer);
}

/// Lists an image under the field: a thumbnail, the name (as text) and a remove button naming
/// the image's id, which [`remove_clicked`] reads.
#[cfg(feature = "hydrate")]
fn show_attachment(state: ChatState, image: &crate::wire::ImageRef) {
    let (Some(list), Some(document)) = (
        state.attachment_list.get_untracked(),
        web_sys::window().and_then(|w| w.document()),
    ) else {
        return;
    };
    let item = |tag: &str| document.create_element(tag).ok();
    let (Some(li), Some(img), Some(name), Some(remove)) =
        (item("li"), item("img"), item("span"), item("button"))
    else {
        return;
    };
    let _ = li.set_attribute("data-testid", "attachment");
    let _ = img.set_attribute("src", &image.url());
    let _ = img.set_attribute("alt", &html_text(image.name.clone()));
    name.set_class_name("attachment-name");
    name.set_text_content(Some(&html_text(image.name.clone())));
    let _ = remove.set_attribute("type", "button");
    let _ = remove.set_attribute("data-testid", "remove-attachment");
    let _ = remove.set_attribute("data-image", &image.id);
    let _ = remove.set_attribute("aria-label", "Remove image");
    remove.set_text_content(Some("×"));
    for child in [&img, &name, &remove] {
        let _ = li.append_child(child);
    }
    let _ = list.append_child(&li);
}

/// A click on an attachment's remove button takes that image off the next send.
fn remove_clicked(state: ChatState, ev: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(button) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        if let Some(id) = button.get_attribute("data-image") {
            state
                .attachments
                .update_value(|list| list.retain(|i| i.id != id));
            if let Some(item) = button.parent_element() {
                item.remove();
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, ev);
}

/// The images picked with the file input; the input is emptied so the same file can be picked
/// again.
fn attach_picked(state: ChatState, ev: leptos::ev::Event) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        upload_all(state, input.files());
        input.set_value("");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, ev);
}

/// Images pasted into the field (text pastes as usual).
fn attach_pasted(state: ChatState, ev: leptos::ev::ClipboardEvent) {
    #[cfg(feature = "hydrate")]
    {
        let files = ev.clipboard_data().and_then(|d| d.files());
        if files.as_ref().is_some_and(|f| f.length() > 0) {
            ev.prevent_default();
            upload_all(state, files);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, ev);
}

/// Images dropped on the composer (dropped text lands in the field as usual).
fn attach_dropped(state: ChatState, ev: leptos::ev::DragEvent) {
    #[cfg(feature = "hydrate")]
    {
        let files = ev.data_transfer().and_then(|d| d.files());
        if files.as_ref().is_some_and(|f| f.length() > 0) {
            ev.prevent_default();
            upload_all(state, files);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, ev);
}

/// Uploads each file that may be an image, up to the message's limit, saying why any other was
/// left out.
#[cfg(feature = "hydrate")]
fn upload_all(state: ChatState, files: Option<web_sys::FileList>) {
    let Some(files) = files else {
        return;
    };
    for index in 0..files.length() {
        let Some(file) = files.get(index) else {
            continue;
        };
        let name = file.name();
        let count = state.attachments.with_value(Vec::len) + state.uploading.get_value() as usize;
        // The server refuses a ninth image too; saying so here saves the upload. (Size and type
        // are the server's to check: its answer is shown.)
        if count >= MAX_IMAGES {
            state.flash.set(Some(Flash::Error(TOO_MANY.to_owned())));
            continue;
        }
        state.uploading.update_value(|n| *n += 1);
        leptos::task::spawn_local(async move {
            match upload(&file).await {
                Ok(image) => {
                    show_attachment(state, &image);
                    state.attachments.update_value(|list| list.push(image));
                }
                Err(reason) => state
                    .flash
                    .set(Some(Flash::Error(format!("{name}: {reason}")))),
            }
            state.uploading.update_value(|n| *n = n.saturating_sub(1));
        });
    }
}

/// `POST /api/v1/images?name=…` with the file as the body; the stored image, or the server's
/// reason.
#[cfg(feature = "hydrate")]
async fn upload(file: &web_sys::File) -> Result<crate::wire::ImageRef, String> {
    let name = String::from(js_sys::encode_uri_component(&file.name()));
    let url = format!("/api/v1/images?name={name}");
    let body = super::browser::fetch("POST", &url, Some(file), None).await?;
    crate::json::from_str(&body).map_err(|_| "the server's answer was unreadable".to_owned())
}

/// Asks the server to interrupt the running turn.
fn stop(state: ChatState) {
    #[cfg(feature = "hydrate")]
    {
        use super::state::Command;
        // A stop must not be queued: sent later it could interrupt a turn the user never saw.
        state.command_now(Command::Stop, "the run cannot be stopped");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn preview_shortens_long_and_multiline_text() {
        assert_eq!(preview("  hi  "), "hi");
        assert_eq!(preview("one\ntwo"), "one…");
        let long = "x".repeat(100);
        assert_eq!(preview(&long).chars().count(), 81);
    }
}
