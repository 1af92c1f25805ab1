"""Label Studio's side of the exchange: the labelling config and the result entries it produces.

One place names every control (``from_name``), the object it labels (``to_name``) and the entry type,
so the annotations and predictions mmrare writes are exactly what Label Studio would write for the
same clicks, and the importer reads them back the same way.
"""

from __future__ import annotations

from typing import Any

from mmrare.annotations.review.records import REJECT_REASONS, ItemVersion, Review

LETTERS = "ABCDEFGHIJ"
TO_NAME = "context"  # every control labels the context text
DRAFT_MODEL = "mmrare-draft"  # model_version of the prediction that carries the drafted item
REVIEW_MODEL = "mmrare-review:"  # model_version prefix of a review whose annotator is no member

LABEL_CONFIG = """<View>
  <Header value="$question"/>
  <Text name="context" value="$context"/>
  <Image name="images" valueList="$images"/>
  <Header value="Options (gold: $answer_letter)" size="5"/>
  <Text name="options" value="$options_text"/>
  <Text name="evidence" value="$evidence_text"/>
  <Choices name="verdict" toName="context" choice="single" showInline="true" required="true">
    <Choice value="accept"/>
    <Choice value="edit"/>
    <Choice value="reject"/>
  </Choices>
  <View visibleWhen="choice-selected" whenTagName="verdict" whenChoiceValue="reject">
    <Choices name="reject_reason" toName="context" choice="single">
{reasons}
    </Choices>
  </View>
  <View visibleWhen="choice-selected" whenTagName="verdict" whenChoiceValue="edit">
    <TextArea name="edit_question" toName="context" maxSubmissions="1" editable="true"
              placeholder="edited question"/>
    <TextArea name="edit_options" toName="context" maxSubmissions="1" editable="true"
              placeholder="options, one per line"/>
    <TextArea name="edit_answer" toName="context" maxSubmissions="1" editable="true"
              placeholder="gold: letter or text"/>
  </View>
  <TextArea name="comment" toName="context" maxSubmissions="1" placeholder="comment"/>
</View>
""".replace(
    "{reasons}",
    "\n".join(f'      <Choice value="{code}" hint="{label}"/>' for code, label in REJECT_REASONS.items()),
)


def _entry(name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    """One result entry, as Label Studio writes it for a control of :data:`LABEL_CONFIG`."""
    entry = {"id": name, "from_name": name, "to_name": TO_NAME, "type": kind, "origin": "manual"}
    return entry | {"value": value}


def choice(name: str, value: str) -> dict[str, Any]:
    """A ``Choices`` result entry."""
    return _entry(name, "choices", {"choices": [value]})


def text(name: str, value: str) -> dict[str, Any]:
    """A ``TextArea`` result entry."""
    return _entry(name, "textarea", {"text": [value]})


def options_text(options: tuple[str, ...] | list[str]) -> str:
    return "\n".join(f"{LETTERS[k]}. {o}" for k, o in enumerate(options))


def edit_result(version: ItemVersion) -> list[dict[str, Any]]:
    """The three edit text areas filled with one version's question, options and gold letter."""
    return [
        text("edit_question", version.question),
        text("edit_options", options_text(version.options)),
        text("edit_answer", LETTERS[version.answer_index]),
    ]


def review_result(review: Review, result: ItemVersion | None) -> list[dict[str, Any]]:
    """What an annotator clicking this review into Label Studio would produce (``result``: the edit)."""
    out = [choice("verdict", review.verdict)]
    if review.verdict == "reject" and review.reject_reason:
        out.append(choice("reject_reason", review.reject_reason))
    if review.verdict == "edit" and result is not None:
        out += edit_result(result)
    if review.comment:
        out.append(text("comment", review.comment))
    return out


def result_values(result: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``from_name -> values`` of one annotation's result list (choices or text)."""
    out: dict[str, list[str]] = {}
    for entry in result:
        value = entry.get("value") or {}
        found = value.get("choices") or value.get("text") or []
        if isinstance(found, str):
            found = [found]
        out.setdefault(str(entry.get("from_name", "")), []).extend(str(v) for v in found)
    return out
