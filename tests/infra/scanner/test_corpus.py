"""The labelled fixture set: every positive found exactly, every near miss left alone."""

from __future__ import annotations

from bastion.infra.scanner import SecretScanner


def test_positive_is_found_with_its_id_and_exact_span(positive, scanner: SecretScanner) -> None:
    findings = scanner.scan_text(positive.text)
    spans = [(f.pattern_id, f.start, f.end) for f in findings]
    assert (positive.pattern_id, *positive.span) in spans


def test_negative_has_no_finding(negative, scanner: SecretScanner) -> None:
    findings = scanner.scan_text(negative.text)
    assert findings == [], [(f.pattern_id, negative.text[f.start : f.end]) for f in findings]


def test_fixture_set_covers_every_pattern_id(positives, negatives, scanner) -> None:
    assert len(positives) >= 150
    assert len(negatives) >= 150
    assert {p.pattern_id for p in positives} == set(scanner.pattern_ids())


def test_precision_and_recall(positives, negatives, scanner: SecretScanner) -> None:
    true_positives = false_positives = false_negatives = 0
    for case in positives:
        start, end = case.span
        findings = scanner.scan_text(case.text)
        if any(
            f.pattern_id == case.pattern_id and (f.start, f.end) == (start, end) for f in findings
        ):
            true_positives += 1
        else:
            false_negatives += 1
        false_positives += sum(1 for f in findings if f.end <= start or f.start >= end)
    for case in negatives:
        false_positives += len(scanner.scan_text(case.text))

    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / (true_positives + false_negatives)
    print(
        f"\nsecret scanner on {len(positives)} positives / {len(negatives)} negatives: "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    assert precision >= 0.95
    assert recall >= 0.95
