//! The user entry's steered mark and image thumbnails, as the page renders them.

use leptos::prelude::*;

use super::EntryView;
use crate::transcript::Transcript;
use crate::wire::{Event, EventBody, ImageRef, Seq};

fn render(steered: bool, images: Vec<ImageRef>) -> String {
    let t = Transcript::from_events(&[Event {
        seq: Seq(4),
        at_ms: 0,
        run: None,
        private: false,
        body: EventBody::UserMessage {
            text: "look".into(),
            client_id: "c1".into(),
            source: Default::default(),
            steered,
            images,
        },
    }]);
    let entry = t.entries()[0].clone();
    Owner::new().with(|| view! { <EntryView entry=entry /> }.to_html())
}

#[test]
fn a_steered_message_carries_data_steered() {
    let html = render(true, Vec::new());
    assert!(html.contains(r#"data-steered="true""#), "{html}");
    assert!(!render(false, Vec::new()).contains("data-steered"));
}

#[test]
fn images_are_thumbnails_of_their_url_with_the_name_as_text() {
    let id = "a".repeat(64);
    let html = render(
        false,
        vec![ImageRef {
            id: id.clone(),
            name: "\"><script>alert(1)</script>.png".into(),
            mime: "image/png".into(),
        }],
    );
    assert_eq!(html.matches(r#"data-testid="image""#).count(), 1, "{html}");
    assert!(
        html.contains(&format!(r#"src="/api/v1/images/{id}""#)),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;") || html.contains("&quot;&gt;"),
        "{html}"
    );
    assert!(!render(false, Vec::new()).contains("data-testid=\"image\""));
}
