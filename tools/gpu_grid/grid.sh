# On the device machine (tools/gpu_grid/README.md): the nine tables of experiments/repro100 at their full budget (100 epochs, 5 seeds), 14 job processes sharing the GPU.
for p in .gpu/a .gpu/b; do [ -d $p ] && python3 tools/gpu_grid/unpack_camvid.py $p; done
[ -d /tmp/site ] || { python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; python3 -c "import torch; print('torch', torch.__version__)"
( while sleep 60; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader; done ) &
timeout ${GRID_SECONDS:-480} python3 -c "import sys; from sslseg.run.cli import main; sys.exit(main())" experiment experiments/repro100/specs/*.yaml \
   --out runs/gpu --root /tmp/camvid --jobs ${GRID_JOBS:-14} --set train.run.amp=off --set pretrain.run.amp=off 2>&1 | tee $OUT/grid.log | grep -v "^\[" | tail -30
grep -c "^\[" $OUT/grid.log; tail -3 $OUT/grid.log
tar czf $OUT/gpu.tgz --exclude='*.pt' --exclude='*.pth' runs/gpu; ls -la $OUT
