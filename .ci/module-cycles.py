#!/usr/bin/env python3
# Import cycles between a crate's files: every file's `crate::` paths (test
# modules and *_tests.rs excluded, comments skipped) mapped to the files they
# name, then the strongly connected components of that graph. Re-exports in a
# folder's mod.rs are a facade: a path resolves to the deepest file it names.
#
#   python3 .ci/module-cycles.py node/src node/domain/src cli/src
#
# Prints each cycle with its edges and exits 1 if there is one. See
# docs/architecture.md ("How the layering is checked").
import os,re,sys
def check(root):
    files={}
    for dp,dn,fn in os.walk(root):
        for f in fn:
            if not f.endswith('.rs') or f.endswith('_tests.rs') or f=='tests.rs': continue
            p=os.path.join(dp,f); rel=os.path.relpath(p,root)[:-3]
            parts=rel.split(os.sep)
            if parts[0]=='bin': continue
            if parts[-1] in ('mod','lib'): parts=parts[:-1]
            name='/'.join(parts) or 'lib'
            files[name]=p
    def resolve(path):
        parts=path.split('::')
        best=None
        for i in range(1,len(parts)+1):
            n='/'.join(parts[:i])
            if n in files: best=n
        return best
    g={}
    for name,p in files.items():
        src="\n".join(l for l in open(p).read().split("\n") if not l.lstrip().startswith("//"))
        src=re.split(r'#\[cfg\(test\)\]\s*\n\s*(?:#\[[^\]]*\]\s*)*mod [a-z_]+ *\{', src)[0]
        deps=set()
        for m in re.findall(r'crate::((?:[a-z_0-9]+::)*[a-z_0-9]+)', src):
            r=resolve(m)
            if r and r!=name and not name.startswith(r+'/') : deps.add(r)
        # use crate::x::{a, b}
        for base,inner in re.findall(r'crate::((?:[a-z_0-9]+::)*)\{([^}]*)\}', src):
            for it in inner.split(','):
                it=it.strip().split(' ')[0].split('::')[0]
                if it and it[0].islower():
                    r=resolve(base+it)
                    if r and r!=name and not name.startswith(r+'/'): deps.add(r)
        g[name]=deps
    idx={};low={};st=[];on=set();sccs=[];c=[0]
    sys.setrecursionlimit(10000)
    def sc(v):
        idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
        for w in g.get(v,()):
            if w not in idx: sc(w);low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],idx[w])
        if low[v]==idx[v]:
            comp=[]
            while True:
                w=st.pop();on.discard(w);comp.append(w)
                if w==v:break
            if len(comp)>1: sccs.append(comp)
    for v in list(g):
        if v not in idx: sc(v)
    print(root+":",len(g),"files,",len(sccs),"cycles")
    for s in sccs:
        print(sorted(s))
        for m in sorted(s): print('   ',m,'->',sorted(d for d in g[m] if d in s))

    return len(sccs)

found=sum(check(r) for r in sys.argv[1:])
sys.exit(1 if found else 0)
