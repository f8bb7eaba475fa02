"Receptive fields: hand-derived values, graph cases, the gradient check on every backbone, ERF, the CLI."
import io, json, contextlib
import pytest, torch
from torch import nn
import torch.nn.functional as F
from sslseg.core import SSLSegError
from sslseg.models import BACKBONES, build_backbone
from sslseg.run.cli import cli_rf
from sslseg.models import (receptive_fields, gradient_rf, all_paths_copy, effective_rf, erf_radius,
                              Axis, conv_axis, conv_transpose_axis, union_axis)

pytestmark = pytest.mark.usefixtures('one_thread')   # tiny tensors: one intra-op thread (see conftest)

KW = {'alexnet': dict(fc_dim=4), 'vgg16': dict(fc_dim=4)}          # narrow fc6/fc7: same geometry, cheap
SHORT = {'alexnet': 64}                                             # the smallest side a net accepts (others: 32)
SMALL = {'erfnet': (61, 43), 'mobilenetv2_fcn': (97, 63), 'alexnet': (99, 131), 'vgg16': (96, 67), 'resnet50': (67, 64), 'resnet101': (67, 64)}
GRAD = list(BACKBONES)

_nets = {}
def nets(arch):
    "(model, all-paths copy), built once per session."
    if arch not in _nets:
        m = build_backbone(arch, 2, **KW.get(arch, {}))
        _nets[arch] = (m, all_paths_copy(m))
    return _nets[arch]

def test_erfnet_by_hand():
    t = receptive_fields('erfnet', (512, 1024))
    # layer 7: 7 (after two downsamplers) + 5 blocks x 16; layer 12: 95 + 48 + 80 + 144 + 272 ... see notebook 04
    want = {'layer1': (3, 2, 1), 'layer2': (7, 4, 3), 'layer7': (87, 4, 43), 'layer8': (95, 8, 47),
            'layer12': (639, 8, 319), 'layer16': (1183, 8, 591)}
    for n, (r, s, p) in want.items():
        assert (t[n].rf, t[n].stride, t[n].padding) == ((r, r), (s, s), (p, p)), n
    assert [t[f'layer{n}'].stride[0] for n in range(16, 24)] == [8, 4, 4, 4, 2, 2, 2, 1]
    assert t['layer17'].rf_min < t['layer17'].rf               # transposed conv: field alternates with parity
    assert t['output'].shape == (512, 1024)

def test_rf_of_conv_nets_does_not_depend_on_input_size():
    assert receptive_fields('erfnet', (64, 64))['layer16'].rf == receptive_fields('erfnet', (360, 480))['layer16'].rf == (1183, 1183)
    assert receptive_fields('resnet50', (96, 128))['block5'].rf == receptive_fields('resnet50', (512, 512))['block5'].rf

def test_yang_table1():
    for arch, r in [('alexnet', 195), ('vgg16', 212)]:
        b = receptive_fields(arch, (512, 512))['block5']
        assert (b.rf, b.stride) == ((r, r), (32, 32))
    assert receptive_fields('resnet101', (512, 512))['block5'].rf == (971, 971)   # torchvision v1.5; TF-slim's 1027: notebook 04

def test_misaligned_branches_reported():
    t = receptive_fields('erfnet', (64, 64))
    enc = [(e['module'], e['axis'], e['offset']) for e in t.misaligned if e['module'].startswith('encoder')]
    assert sorted(enc) == sorted((f'encoder.layer{n}', ax, off) for n, off in [(1, .5), (2, 1.), (8, 2.)] for ax in 'hw')
    assert 'misaligned branches at encoder.layer1' in repr(t)
    assert receptive_fields('vgg16', (64, 64)).misaligned == []
    assert receptive_fields('resnet50', (64, 64)).misaligned == []      # residual adds of aligned branches are fine

def test_asymmetric_kernels():
    t = receptive_fields('erfnet', (64, 64), layers=['encoder.layer3.conv3x1_1', 'encoder.layer3.conv1x3_1', 'layer3'])
    assert [l.rf for l in t.layers.values()][:3] == [(15, 7), (15, 15), (23, 23)]

def test_axis_rules():
    x = Axis.identity(16, 64)
    u, mis = union_axis([conv_axis(x, 3, 2, 1, 1, 8), conv_axis(x, 2, 2, 0, 1, 8)])
    assert (u.rf, u.padding, mis) == (3, 1, 0.5)
    a = conv_transpose_axis(Axis.identity(8, 64), 3, 2, 1, 1, 16)
    assert list(a.size[:4]) == [1, 2, 1, 2] and a.stride == 0.5
    a = conv_axis(Axis.identity(32, 64), 3, 1, 4, 4, 32)                # dilation 4, padding 4: taps -4, 0, 4
    assert (a.rf, a.padding, a.real(a.lo)[10], a.real(a.hi)[10]) == (9, 4, 6, 14)

def test_centre_eq3_and_inverse():
    l = receptive_fields('vgg16', (256, 256))['block5']                # a plain chain: eq. 3 holds exactly
    (r, _), (S, _), (P, _) = l.rf, l.stride, l.padding
    for i in range(l.shape[0]):
        assert l.centre(i, i) == (-P + (r - 1) / 2 + i * S,) * 2
        assert l.unit_at(*l.centre(i, 3)) == (i, 3)
    l = receptive_fields('erfnet', (96, 128))['layer12']
    assert all(l.unit_at(*l.centre(i, j)) == (i, j) for i in range(12) for j in range(16))
    assert l.unit_at(83, 4) == (10, 0)

def test_any_module_and_module_names():
    m = nn.Sequential(nn.Conv2d(3, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Conv2d(4, 4, 3, dilation=2, padding=2))
    t = receptive_fields(m, (32, 32), layers=['2', '3'])
    assert (t['2'].rf, t['3'].rf, t['3'].stride, t['output'].rf) == ((7, 7), (15, 15), (2, 2), (15, 15))

def test_unknown_names_and_ops():
    with pytest.raises(SSLSegError, match='layer23'): receptive_fields('erfnet', (64, 64), layers=['layer24'])
    with pytest.raises(SSLSegError, match='mobilenetv2_fcn'): receptive_fields('resnet18', (64, 64))
    class Shuffle(nn.Module):
        def forward(self, x): return F.pixel_shuffle(x, 2)
    with pytest.raises(SSLSegError, match='pixel_shuffle'): receptive_fields(nn.Sequential(nn.Conv2d(3, 4, 3), Shuffle()), (16, 16))

@pytest.mark.parametrize('arch', GRAD)
def test_gradient_equals_analytic_inside(arch):
    "A unit whose box lies inside the image: gradient box == analytic box (size and centre), per axis, on a long strip."
    m, am = nets(arch)
    short = SHORT.get(arch, 32)
    r = max(receptive_fields(m, (512, 512))[n].rf[0] for n in (m.block_names()[-1], 'output'))
    long = (r // 32 + 3) * 32
    for size, ax in [((long, short), 0), ((short, long), 1)]:
        t = receptive_fields(m, size)
        for layer in (m.block_names()[-1], 'output'):
            l = t[layer]
            i, j = l.shape[0] // 2, l.shape[1] // 2
            g, _ = gradient_rf(am, size, layer, (i, j), model_ready=True)
            box = l.box(i, j)
            assert g == l.support(i, j), (layer, size)
            assert 0 <= box[ax] and box[ax + 2] < size[ax], (layer, size, box)             # inside along the long axis ...
            assert (g[ax], g[ax + 2]) == (box[ax], box[ax + 2]), (layer, size)            # ... the gradient fills it exactly
            k = (i, j)[ax]
            assert g[ax + 2] - g[ax] + 1 == (l.h, l.w)[ax].size[k] <= l.rf[ax]
            assert (g[ax] + g[ax + 2]) / 2 == l.centre(i, j)[ax]

@pytest.mark.parametrize('arch', GRAD)
def test_gradient_equals_support_at_borders(arch):
    "Odd input sizes, corner and centre units: the gradient's box is the analytic real support (padding excluded)."
    m, am = nets(arch)
    size = SMALL[arch]
    t = receptive_fields(m, size)
    names = list(t.layers)
    for layer in names[1::max(1, len(names) // 3)] + ['output']:
        l = t[layer]
        for unit in [(0, 0), (l.shape[0] // 2, l.shape[1] // 2), (l.shape[0] - 1, l.shape[1] - 1)]:
            assert gradient_rf(am, size, layer, unit, model_ready=True)[0] == l.support(*unit), (layer, unit)

def test_gradient_hypercolumn_head():
    m = build_backbone('vgg16', 2, head='hypercolumn', hidden=4)
    t = receptive_fields(m, (96, 67))
    am = all_paths_copy(m)
    for layer in ('hidden', 'output'):
        l = t[layer]
        for unit in [(0, 0), (l.shape[0] // 2, l.shape[1] // 3)]:
            assert gradient_rf(am, (96, 67), layer, unit, model_ready=True)[0] == l.support(*unit)

def test_effective_rf():
    torch.manual_seed(0)
    m = build_backbone('mobilenetv2_fcn', 3)
    imgs = torch.rand(3, 3, 96, 96)
    erf, (i, j) = effective_rf(m, imgs, 'block3')
    assert erf.shape == (96, 96) and abs(float(erf.sum()) - 1) < 1e-5 and (erf >= 0).all()
    l = receptive_fields(m, (96, 96))['block3']
    t, le, b, r = l.support(i, j)
    assert float(erf[t:b + 1, le:r + 1].sum()) == pytest.approx(1.0)                # no mass outside the theoretical field
    c = l.centre(i, j)
    radii = [erf_radius(erf, c, q) for q in (0.3, 0.6, 0.9)]
    assert radii == sorted(radii) and radii[-1] <= l.rf[0] / 2 * 2 ** .5
    assert m.training                                                             # mode restored

def _cli(argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): assert cli_rf(argv) == 0
    return buf.getvalue()

@pytest.mark.parametrize('arch', list(BACKBONES))
def test_cli_json_every_model(arch):
    rows = json.loads(_cli([arch, '--json', '--input', '224', '224']))
    assert rows[-1]['layer'] == 'output' and len(rows) >= 6
    for r in rows:
        assert all(len(r[k]) == 2 for k in ('rf', 'stride', 'padding'))
    text = _cli([arch, '--input', '224', '224'])
    assert all(r['layer'] in text for r in rows)

def test_cli_layer_and_errors(capsys):
    assert json.loads(_cli(['erfnet', '--layer', 'layer16', '--json'])) == [
        dict(layer='layer16', rf=[1183, 1183], stride=[8, 8], padding=[591, 591], size=[64, 64], rf_min=[1183, 1183])]
    assert json.loads(_cli(['vgg16', '--layer', 'output', '--json', '--input', '64', '96']))[0]['size'] == [64, 96]
    assert 'encoder.layer3.conv3x1_1' in _cli(['erfnet', '--all', '--input', '32', '32'])
    with pytest.raises(SSLSegError, match='layer23'): cli_rf(['erfnet', '--layer', 'layer99'])
    with pytest.raises(SSLSegError, match='block5'): cli_rf(['resnet50', '--layer', 'layer4'])
    with pytest.raises(SystemExit) as e: cli_rf(['resnet18'])                     # argparse: the choices come from the backbone registry
    assert e.value.code == 2 and 'mobilenetv2_fcn' in capsys.readouterr().err
    with pytest.raises(SSLSegError, match='larger --input'): cli_rf(['alexnet', '--input', '16', '16'])
