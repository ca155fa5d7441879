"""The check before a vLLM rollout run: vLLM's prompt for a record (the chat template's text, each image expanded by
vLLM's processor) against the training processor's, with the tiny model's processor and synthetic records."""

import pytest

from o3video.errors import InputError
from o3video.models.load import frame_settings, load_processor
from o3video.train.train_config import DataConfig
from o3video.train.train_records import load_training_records
from o3video.train.vllm_prompt import (
    VLLM_DEFAULT_IMAGE_LIMIT,
    check_for_vllm,
    check_vllm_prompt,
    image_limit,
    image_runs,
    vllm_prompt_ids,
)
from o3video.video.prompt import messages_images


@pytest.fixture(scope="module")
def records_and_processor(synth_easy, tiny_model):
    processor = load_processor(tiny_model, max_pixels=100352)
    data = DataConfig(train=[str(synth_easy / "stgr_rl.json")], num_frames=4, limit=4,
                      cache_dir=str(synth_easy / "frame_cache"))
    return load_training_records(data, frame_settings(processor)), processor


def test_vllm_prompt_equals_the_processors_with_one_run_of_image_tokens_per_image(records_and_processor, tiny_model):
    records, processor = records_and_processor
    messages = records[0].prompt().messages
    trained = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                            return_dict=True)["input_ids"][0]
    served = vllm_prompt_ids(load_processor(tiny_model, max_pixels=None), messages)  # the checkpoint's own bounds
    assert served == trained
    runs = image_runs(served, processor.image_token_id)
    assert len(runs) == len(messages_images(messages)) >= 4 and all(run > 1 for run in runs)
    check_vllm_prompt(processor, load_processor(tiny_model, max_pixels=None), messages, "record 0")


def test_other_pixel_bounds_in_vllms_processor_are_named_with_the_record_and_image(records_and_processor, tiny_model):
    records, processor = records_and_processor
    messages = records[0].prompt().messages
    upscaling = load_processor(tiny_model, min_pixels=4 * 100352, max_pixels=8 * 100352)  # vLLM would upscale
    with pytest.raises(InputError, match=r"record r1: vLLM's prompt differs .* at image 0: \[\d+\] image tokens"):
        check_vllm_prompt(processor, upscaling, messages, "record r1")


def test_check_for_vllm_returns_the_image_limit_from_frames_and_key_frames(records_and_processor, tiny_model):
    records, processor = records_and_processor
    limit = check_for_vllm(records, processor, load_processor(tiny_model, max_pixels=None), num_frames=4)
    most = max(4 + len(item.record.get("key_frames") or []) for item in records)
    assert limit == max(most, *(len(messages_images(item.prompt().messages)) for item in records))
    with pytest.raises(InputError, match="above vLLM's default limit"):
        image_limit([3, VLLM_DEFAULT_IMAGE_LIMIT + 1])
