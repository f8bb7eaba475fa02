"Backbones: one interface across ERFNet, MobileNetV2-FCN, AlexNet, VGG16, ResNet-50/101."
import pytest, torch
import torchvision
from torch import nn
from sslseg.core import SSLSegError
from sslseg.models import ERFNet, param_count
from sslseg.models import BACKBONES, build_backbone, backbone_from_config, ERFNetBackbone

pytestmark = pytest.mark.usefixtures('one_thread')   # tiny tensors: one intra-op thread (see conftest)

SMALL = {'alexnet': dict(fc_dim=16), 'vgg16': dict(fc_dim=16)}      # narrow fc6/fc7: same geometry, fast
ALL = list(BACKBONES)

def small(arch, n=5, **kw): return build_backbone(arch, n, **{**SMALL.get(arch, {}), **kw}).eval()

@pytest.mark.parametrize('arch', ALL)
def test_logits_at_input_size_for_odd_sizes(arch):
    m = small(arch)
    hw = (67, 85) if arch == 'alexnet' else (37, 53)         # AlexNet needs >= 63 px
    with torch.no_grad(): y = m(torch.randn(1, 3, *hw))
    assert y.shape == (1, 5, *hw) and torch.isfinite(y).all()

@pytest.mark.parametrize('arch', ALL)
def test_encode_units_and_features(arch):
    m = small(arch)
    x = torch.randn(1, 3, *((64, 96) if arch == 'alexnet' else (32, 64)))
    names = m.unit_names()
    assert names == [q.split('.')[-1] for q in m.unit_qualnames()]
    for n in names: assert m.unit(n) is m.get_submodule(m.unit_qualnames()[names.index(n)])
    torch.set_grad_enabled(False)
    try: _check_features(arch, m, x, names)
    finally: torch.set_grad_enabled(True)

def _check_features(arch, m, x, names):
    assert m.encode(x).shape[1] == m.encoder_channels
    if arch == 'erfnet':
        assert names == [f'layer{i}' for i in range(1, 24)] and m.block_names() == names[:16]
        assert m.features(x, 'layer7').shape == (1, 64, 8, 16)
        assert torch.equal(m.features(x, 'layer16'), m.encode(x))
        assert torch.allclose(m.features(x, 'layer23'), m(x))
    else:
        assert m.block_names() == [f'block{i}' for i in range(1, 6)]
        sizes = [tuple(m.features(x, b).shape[-2:]) for b in m.block_names()]
        strides = [2, 4, 8, 16, 32] if arch != 'alexnet' else None
        if strides: assert sizes == [(32 // s, 64 // s) for s in strides]
        assert torch.equal(m.features(x, 'block5'), m.encode(x))
        y = m.features(x, 'score')
        assert y.shape == (1, 5, *sizes[-1])
        assert torch.allclose(nn.functional.interpolate(y, size=x.shape[-2:], mode='bilinear', align_corners=False), m(x))

@pytest.mark.parametrize('arch', ALL)
def test_unknown_layer_lists_valid_names(arch):
    m = small(arch)
    with pytest.raises(SSLSegError, match=m.unit_names()[-1]): m.features(torch.zeros(1, 3, 64, 64), 'nope')

def test_param_counts_match_torchvision_and_thesis():
    pc = lambda arch: build_backbone(arch, 12).param_counts()
    tv = torchvision.models
    e = pc('erfnet')
    assert e['total'] == 2_063_736 == e['encoder'] + e['decoder'] and e['layer1'] == param_count(ERFNet(12).encoder.layer1)
    r = pc('resnet50')
    assert r['encoder'] == param_count(tv.resnet50()) - param_count(tv.resnet50().fc) and r['decoder'] == 2048 * 12 + 12
    assert sum(r[f'block{i}'] for i in range(1, 6)) == r['encoder']
    m = tv.mobilenet_v2(width_mult=0.75)
    mb = pc('mobilenetv2_fcn')        # last 1x1 conv 240 -> 512 (+BN) instead of 240 -> 1280
    assert mb['encoder'] == param_count(m.features) - param_count(m.features[18]) + 240 * 512 + 2 * 512
    v = build_backbone('vgg16', 12, fc_dim=16).param_counts()
    assert v['encoder'] == param_count(tv.vgg16().features)
    assert v['decoder'] == 512 * 49 * 16 + 16 + 16 * 16 + 16 + 16 * 12 + 12
    a = build_backbone('alexnet', 12, fc_dim=16).param_counts()
    assert a['encoder'] == param_count(tv.alexnet().features) and a['fc6'] == 256 * 36 * 16 + 16

def test_mobilenet_is_yang_et_al():
    m = build_backbone('mobilenetv2_fcn')
    assert m.encoder_channels == 512 and m.config['width_mult'] == 0.75
    assert m.encode(torch.zeros(1, 3, 224, 224)).shape == (1, 512, 7, 7)          # output stride 32

@pytest.mark.parametrize('arch', ALL)
def test_config_round_trip(arch):
    m = small(arch, 7)
    m2 = backbone_from_config(dict(m.config))
    assert m2.config == m.config and type(m2) is type(m)
    m2.load_state_dict(m.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad(): assert torch.equal(m2.eval()(x), m(x))
    assert build_backbone(**m.config).config == m.config

def test_config_errors():
    with pytest.raises(SSLSegError, match='erfnet'): build_backbone('resnet18')
    with pytest.raises(SSLSegError, match='bad options'): build_backbone('vgg16', widthh=2)
    with pytest.raises(SSLSegError, match='arch'): backbone_from_config({'num_classes': 3})
    with pytest.raises(SSLSegError, match='hypercolumn'): build_backbone('resnet50', head='fcn8s')

@pytest.mark.parametrize('arch', ALL)
def test_set_num_classes_keeps_the_rest(arch):
    m = small(arch, 5)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    m.set_num_classes(3)
    assert m.config['num_classes'] == 3
    with torch.no_grad(): assert m(torch.zeros(1, 3, 64, 64)).shape[1] == 3
    after = m.state_dict()
    changed = [k for k in before if k not in after or after[k].shape != before[k].shape or not torch.equal(after[k], before[k])]
    assert changed and all(('score' in k or 'layer23' in k) for k in changed)

def test_erfnet_backbone_is_erfnet():
    b, e = ERFNetBackbone(12), ERFNet(12)
    assert isinstance(b, ERFNet) and b.state_dict().keys() == e.state_dict().keys()
    e.load_state_dict(b.state_dict())
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad(): assert torch.equal(b.eval()(x), e.eval()(x))
    assert torch.equal(b.features(x, 'layer7'), e.features(x, 7))

def test_hypercolumn_head():
    m = build_backbone('vgg16', 4, head='hypercolumn', hidden=16, taps=[f'block{i}' for i in range(1, 6)]).eval()
    assert m.decoder.hidden[0].in_channels == 64 + 128 + 256 + 512 + 512
    with torch.no_grad():
        assert m(torch.zeros(1, 3, 45, 61)).shape == (1, 4, 45, 61)
        assert m.features(torch.zeros(1, 3, 64, 64), 'hidden').shape == (1, 16, 16, 16)   # stride-4 grid
    lm = build_backbone('vgg16', 4, head='hypercolumn', hidden=16, fc_dim=32)          # Larsson et al.: conv1_1..conv5_3, fc6, fc7
    assert lm.decoder.hidden[0].in_channels == 2 * 64 + 2 * 128 + 3 * 256 + 6 * 512 + 2 * 32 and lm.decoder.hidden[2].p == 0.5
    with torch.no_grad(): assert lm.eval()(torch.zeros(1, 3, 40, 40)).shape == (1, 4, 40, 40)
    a = build_backbone('alexnet', 4, head='hypercolumn', hidden=16).eval()
    with torch.no_grad(): assert a.features(torch.zeros(1, 3, 128, 128), 'hidden').shape[-1] == 15      # AlexNet: block1's grid (stride 8)

@pytest.mark.parametrize('arch', ['mobilenetv2_fcn', 'resnet50', 'alexnet'])
def test_grayscale_input(arch):
    m = small(arch, 2, in_ch=1)
    with torch.no_grad(): assert m(torch.zeros(1, 1, 64, 64)).shape == (1, 2, 64, 64)

@pytest.mark.parametrize('arch', ['mobilenetv2_fcn', 'erfnet'])
def test_trains(arch):
    torch.manual_seed(0)
    m = small(arch, 3).train()
    x, y = torch.randn(2, 3, 32, 32), torch.randint(0, 3, (2, 32, 32))
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    losses = []
    for _ in range(5):
        loss = nn.functional.cross_entropy(m(x), y); opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
    assert losses[-1] < losses[0]
    first = next(p for p in m.encoder.parameters())
    assert first.grad is not None and first.grad.abs().sum() > 0
