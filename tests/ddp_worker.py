"""Worker for tests/test_ddp.py: trains a small model with the Learner, alone or under torchrun.
usage: python ddp_worker.py OUT   (or: torchrun --standalone --nproc_per_node 2 ddp_worker.py OUT)"""
import sys, json
import torch
from torch import nn
from torch.utils.data import TensorDataset
from sslseg.train import Learner, evaluate
from sslseg.tasks import SegmentationTask

class Tiny(nn.Module):
    "Conv net without batch norm or dropout, so one process with batch 2B and two with batch B compute the same gradients."
    def __init__(self):
        super().__init__(); self.config = {'arch': 'tiny'}
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 1))
    def forward(self, x): return self.net(x)

def toy(n, seed):
    g = torch.Generator().manual_seed(seed); x = torch.rand(n, 3, 8, 8, generator=g)
    return TensorDataset(x, (x[:, 0] > x[:, 1]).long() + (x[:, 2] > 0.7).long())

if __name__ == '__main__':
    out, per_proc_bs = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    # float32 (amp=False): the test compares 2 x batch 8 with 1 x batch 16 to 1e-4, finer than bf16 rounding, which differs by batch layout
    learn = Learner(Tiny(), SegmentationTask(3), toy(96, 0), toy(40, 1), lr=1e-2, epochs=3, batch_size=per_proc_bs,
                    out=out, progress=False, seed=5, amp=False)
    hist = learn.fit()
    res, state = evaluate(learn.raw_model, SegmentationTask(3), toy(41, 2), batch_size=4, amp=False)
    if learn.is_main:
        torch.save(learn.raw_model.state_dict(), f'{out}/final.pt')
        json.dump({'history': hist, 'eval': res, 'cm': state['cm'].tolist(), 'world': learn.world}, open(f'{out}/result.json', 'w'))
