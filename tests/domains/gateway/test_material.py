"""What of a Messages request the governance chain sees (``prompt_material``)."""

from __future__ import annotations

from bastion.domains.gateway._material import prompt_material

PNG = "iVBORw0KGgo" + "A" * 4000


def test_every_member_but_the_sampling_controls_is_governed() -> None:
    body = {
        "model": "claude-opus-4-5",
        "max_tokens": 64,
        "stream": True,
        "temperature": 0.2,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "system": "be brief",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "t", "description": "d", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "t"},
        "metadata": {"user_id": "u"},
        "stop_sequences": ["END"],
        "mcp_servers": [{"type": "url", "url": "https://mcp.test", "name": "m"}],
    }
    material = prompt_material(body)
    assert list(material) == [
        "system",
        "messages",
        "tools",
        "tool_choice",
        "metadata",
        "stop_sequences",
        "mcp_servers",
    ]
    assert material["tools"] is body["tools"]


def test_binary_payloads_are_elided_at_any_depth_and_text_documents_kept() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "x", "data": PNG}}
    text_doc = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
        "title": "t",
    }
    content_doc = {"type": "document", "source": {"type": "content", "content": [image]}}
    result = {"type": "tool_result", "tool_use_id": "x", "content": [image, text_doc]}
    body = {"messages": [{"role": "user", "content": [image, pdf, text_doc, content_doc, result]}]}
    blocks = prompt_material(body)["messages"][0]["content"]
    elided = "<binary content elided>"
    assert blocks[0]["source"]["data"] == elided
    assert blocks[1]["source"]["data"] == elided
    assert blocks[2] == text_doc
    assert blocks[3]["source"]["content"][0]["source"]["data"] == elided
    assert blocks[4]["content"][0]["source"]["data"] == elided
    assert blocks[4]["content"][1] == text_doc
    assert PNG not in repr(prompt_material(body))
    # The caller's body is not modified.
    assert image["source"]["data"] == PNG


def test_adjacent_text_blocks_are_also_governed_joined() -> None:
    def text(t: str) -> dict[str, str]:
        return {"type": "text", "text": t}

    image = {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}
    body = {
        "system": [text("s1"), text("s2")],
        "messages": [
            {"role": "user", "content": [text("a"), text("b"), image, text("c"), text("d")]},
            {"role": "user", "content": [text("lonely"), image]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "content": [text("x"), text("y")]}],
            },
        ],
    }
    material = prompt_material(body)
    assert list(material)[-1] == "adjacent_text"
    assert material["adjacent_text"] == [
        {"blocks": "system[0:2]", "text": "s1s2"},
        {"blocks": "messages[0].content[0:2]", "text": "ab"},
        {"blocks": "messages[0].content[3:5]", "text": "cd"},
        {"blocks": "messages[2].content[0].content[0:2]", "text": "xy"},
    ]
    assert "adjacent_text" not in prompt_material({"messages": [{"role": "user", "content": "a"}]})


def test_the_names_an_openai_caller_sent_are_governed() -> None:
    caller = {"messages": [{"role": "user", "name": "ci-bot", "content": "hi"}, {"role": "user"}]}
    translated = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
    assert prompt_material(translated, caller)["names"] == ["ci-bot"]
    assert "names" not in prompt_material(caller, caller)
