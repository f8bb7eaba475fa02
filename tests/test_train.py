"""Segmentation training on SyntheticScenes: beats chance by a wide margin; an interrupted run resumes to the same result."""
import json
import torch
from torch.utils.data import DataLoader
from sslseg.data import get_dataset, label_histogram
from sslseg.models import ERFNet
from sslseg.train import Learner, Callback
from sslseg.train import train_segmentation
from sslseg.tasks import SegmentationTask, confusion_matrix, seg_metrics

def test_short_synthetic_run_beats_chance(tmp_path):
    # He init (the thesis' baseline) trains more slowly than PyTorch's default at the same lr (nbs/models/00_erfnet): 10 epochs at 5e-3
    r = train_segmentation(data='synthetic', out=tmp_path, epochs=10, batch_size=8, size=(48, 64), n_train=96, n_val=24,
                           lr=5e-3, weighted=False, progress=False, num_workers=0)
    val = get_dataset('synthetic', None, 'val', size=(48, 64), n=24)
    masks = torch.stack([val[i][1] for i in range(len(val))])
    hist = label_histogram(val).double()
    majority = (hist.max() / hist.sum()).item()          # pixel accuracy of always predicting the most frequent class
    guess = torch.randint(0, 11, masks.shape, generator=torch.Generator().manual_seed(0))
    chance = seg_metrics(confusion_matrix(guess, masks, 11, 255))['miou']   # mIoU of a uniform random guess
    assert r['pixel_acc'] > majority + 0.15, (r['pixel_acc'], majority)
    assert r['miou'] > 3 * chance, (r['miou'], chance)
    assert json.load(open(tmp_path / 'metrics.json'))['miou'] == r['miou']

class StopAfter(Callback):
    def __init__(self, n): self.n = n
    def after_epoch(self):
        if self.learn.epoch == self.n: self.learn.stop = True

def _learner(out, workers, cbs=(), resume=False):
    torch.manual_seed(0)
    tr = get_dataset('synthetic', None, 'train', size=(32, 48), augment=True, n=16)   # random scale/crop/flip/jitter
    va = get_dataset('synthetic', None, 'val', size=(32, 48), n=4)
    model = ERFNet(tr.num_classes)                                                    # dropout 0.03 / 0.3 active
    return Learner(model, SegmentationTask(tr.num_classes), DataLoader(tr, 4, num_workers=workers), DataLoader(va, 4),
                   epochs=4, out=out, progress=False, seed=7, cbs=cbs, resume=resume)

def test_resume_equals_uninterrupted_run(tmp_path):
    "ERFNet with dropout, augmentation in 2 loader workers: stop after epoch 2, resume, compare with a straight run."
    a = _learner(tmp_path / 'a', 2); a.fit()
    _learner(tmp_path / 'b', 2, [StopAfter(2)]).fit()
    torch.rand(100)                                                                   # disturb the global RNG
    b = _learner(tmp_path / 'b', 2, resume=True); b.fit()
    assert b.epoch == 4 and len(b.history) == 4
    for (k, va), vb in zip(a.raw_model.state_dict().items(), b.raw_model.state_dict().values()):
        assert torch.equal(va, vb), k
    assert [h['valid_miou'] for h in a.history] == [h['valid_miou'] for h in b.history]
