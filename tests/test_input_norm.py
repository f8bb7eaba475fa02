"Input scale: a pretext task's network input has the statistics of a segmentation input for the same images (issue 7, item 6)."
import pytest, torch
from sslseg.data import get_dataset
from sslseg.tasks import (TASKS, RotationTask, OtsuTask, SimCLRTask, ClusterTask, SupervisedClassTask, FCNJigsawTask, ColorizeTask,
                          ColorHistTask, JigsawTask, RelativePatchTask, normalize, to_gray)


def _pair(n=6, size=(48, 64)):
    "The same synthetic images as a pretext loader gives them ([0,1]) and as the segmentation loader gives them (normalised)."
    raw = get_dataset('synthetic', None, 'train', size=size, augment=False, normalize=False, n=n)
    seg = get_dataset('synthetic', None, 'train', size=size, augment=False, normalize=True, n=n)
    return torch.stack([raw[i][0] for i in range(n)]), torch.stack([seg[i][0] for i in range(n)])


def _stats(x): return x.mean((0, 2, 3)), x.std((0, 2, 3))


@pytest.mark.parametrize('task', [OtsuTask(augment=False), ClusterTask(k=2, augment=False), SupervisedClassTask(3, augment=False),
                                  SimCLRTask(scale=(1, 1), ratio=(4 / 3, 4 / 3), flip=0, jitter_p=0, gray_p=0, blur_p=0)])
def test_unaugmented_input_is_the_segmentation_input(task):
    x, seg = _pair()
    batch = (x, torch.zeros(len(x), dtype=torch.long)) if task.needs_labels else x
    inp = task.make_batch(batch)[0][:len(x)]
    torch.testing.assert_close(inp, seg, atol=2e-5, rtol=0)
    assert task.config()['input_norm'] == 'imagenet'


@pytest.mark.parametrize('task', [RotationTask(size=48, augment=False), FCNJigsawTask(size=48, scale=(1, 1), flip=False)])
def test_square_crop_input_has_segmentation_statistics(task):
    x, seg = _pair(8, (48, 48))
    with torch.no_grad(): inp = task.sample(x)['crop']
    (m1, s1), (m2, s2) = _stats(inp), _stats(seg)
    torch.testing.assert_close(m1, m2, atol=0.02, rtol=0); torch.testing.assert_close(s1, s2, atol=0.03, rtol=0)


@pytest.mark.parametrize('cls', [ColorizeTask, ColorHistTask])
def test_gray_input_is_a_normalised_gray_image(cls):
    "L*/100, replicated and ImageNet-normalised, is close to the normalised luma (channel means 0.17 apart here, stds 0.03; the un-normalised L*/100 input: 0.89 and 0.65)."
    x, _ = _pair()
    inp = cls(augment=False).make_batch(x)[0]
    ref = normalize(to_gray(x).expand_as(x))
    (m1, s1), (m2, s2) = _stats(inp), _stats(ref)
    torch.testing.assert_close(m1, m2, atol=0.25, rtol=0); torch.testing.assert_close(s1, s2, atol=0.1, rtol=0)
    assert cls().config()['input_norm'] == 'imagenet'


@pytest.mark.parametrize('task', [JigsawTask(n_perms=10, crop_size=48, tile=14, jitter=False), RelativePatchTask(crop_size=48, tile=14, jitter=False)])
def test_tile_tasks_document_per_tile_normalisation(task):
    x, _ = _pair()
    inp = task.make_batch(x)[0]
    assert task.config()['input_norm'] == 'tile'
    torch.testing.assert_close(inp.mean((-2, -1)), torch.zeros(inp.shape[:3]), atol=1e-4, rtol=0)


def test_every_registered_pretext_task_records_its_input_norm():
    for name, cls in TASKS.items():
        if name == 'segmentation': continue
        t = cls(num_classes=3) if name == 'supervised_cls' else cls()
        assert t.config()['input_norm'] in ('imagenet', 'tile'), name
