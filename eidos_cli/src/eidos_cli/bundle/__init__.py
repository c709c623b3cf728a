"""The bundler: turn a recipe into a deployable bundle (one Helm release per component,
installed in order by a generated ``deploy.sh``, or an Argo CD app-of-apps), as
``eidos-cli bundle`` does.

Rendering is pure and deterministic (``bundler.render_bundle`` → relative path → bytes);
only ``writer`` touches the file system. One concern per module:

* ``paths`` — which names and relative paths may appear in a bundle;
* ``overrides`` — ``--set component:path=value``;
* ``scheduling`` — node selectors and tolerations and where they go;
* ``plan`` — the install plan both layouts share: order, namespaces, values, disabling;
* ``manifests`` — extra manifests rendered for their namespace (a Go-template subset);
* ``values`` — each component's Helm values;
* ``yamlout`` — key order and YAML text of values files;
* ``helm`` / ``argocd`` — the two layouts; ``checksums`` — ``checksums.txt``;
* ``bundler`` — the pipeline and the deployment summary; ``writer`` — safe writing.
"""

HELM = "helm"
ARGOCD = "argocd"
DEPLOYERS = (ARGOCD, HELM)
TITLES = {HELM: "Helm bundle", ARGOCD: "ArgoCD applications"}
