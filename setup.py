"""Install sslseg. All metadata lives in settings.ini (nbdev 2 layout); this file only reads it."""
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']
licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
lic = licenses[cfg['license']]
reqs = cfg.get('requirements', '').split()
dev_reqs = cfg.get('dev_requirements', '').split()
extras = {name: cfg.get(f'{name}_requirements', '').split() for name in ('slurm', 'docs')}   # optional extras: pip install -e ".[slurm]"
extras = {k: v for k, v in extras.items() if v}
scripts = [s.strip() for s in cfg.get('console_scripts', '').split('\n') if s.strip()]

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read(), long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'], license=lic[0], url=cfg['git_url'],
    classifiers=['Development Status :: 3 - Alpha', 'Intended Audience :: Science/Research',
                 'License :: ' + lic[1], 'Programming Language :: Python :: 3'],
    packages=setuptools.find_packages(include=['sslseg', 'sslseg.*']), include_package_data=True,
    install_requires=reqs, extras_require={'dev': sorted(set(dev_reqs + [r for v in extras.values() for r in v])), **extras}, python_requires='>=' + cfg['min_python'],
    entry_points={'console_scripts': scripts, 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False)
