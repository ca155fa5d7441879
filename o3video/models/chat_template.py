"""The chat template of the tiny model: Qwen2.5-VL's, plus `{% generation %}` markers.

Rendering matches Qwen2.5-VL-Instruct's template (default system prompt, `<|im_start|>role\\n ...
<|im_end|>\\n` turns, each image as `<|vision_start|><|image_pad|><|vision_end|>`, each video as
`<|vision_start|><|video_pad|><|vision_end|>`, optional `Picture N: ` labels with `add_vision_id`).
The one addition is the `{% generation %}` block around every assistant turn's content and its
closing `<|im_end|>`, which is what `return_assistant_tokens_mask=True` (transformers) and
`assistant_only_loss=True` (TRL) read to put the loss on assistant tokens only — the reference code
trains on prompt tokens too (docs/design.md §3), this template is how we avoid that.
"""

from __future__ import annotations

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."

# One rendering per content item; the same macro serves every role so user and assistant turns
# cannot drift apart. The namespace counters are shared across the whole conversation, as in Qwen's.
QWEN_VL_CHAT_TEMPLATE = (
    "{%- set image_count = namespace(value=0) -%}"
    "{%- set video_count = namespace(value=0) -%}"
    "{%- macro render_content(content) -%}"
    "{%- if content is string -%}{{- content -}}"
    "{%- else -%}{%- for item in content -%}"
    "{%- if item['type'] == 'image' or 'image' in item or 'image_url' in item -%}"
    "{%- set image_count.value = image_count.value + 1 -%}"
    "{%- if add_vision_id -%}{{- 'Picture ' ~ image_count.value ~ ': ' -}}{%- endif -%}"
    "{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif item['type'] == 'video' or 'video' in item -%}"
    "{%- set video_count.value = video_count.value + 1 -%}"
    "{%- if add_vision_id -%}{{- 'Video ' ~ video_count.value ~ ': ' -}}{%- endif -%}"
    "{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif 'text' in item -%}{{- item['text'] -}}"
    "{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{%- endmacro -%}"
    "{%- for message in messages -%}"
    "{%- if loop.first and message['role'] != 'system' -%}"
    "{{- '<|im_start|>system\\n" + DEFAULT_SYSTEM_PROMPT + "<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- generation -%}{{- render_content(message['content']) + '<|im_end|>' -}}{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- render_content(message['content']) + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
