"""What route handlers (the core's and plugins') can ask Litestar to inject, by parameter name.

``kernel: KernelDep`` — the process's :class:`~scrm.kernel.Kernel` and its services;
``ws: WorkspaceDep`` — the workspace the call acts in; ``principal: PrincipalDep`` — the caller.
In the console's pages (a plugin's included), ``access: AccessDep`` — the signed-in operator and
their role in the workspace of the page.
"""

from __future__ import annotations

from litestar.di import NamedDependency

from scrm.kernel import Kernel
from scrm.services.context import WorkspaceRef
from scrm.services.keys import Principal
from scrm.services.operators import Access

KernelDep = NamedDependency[Kernel]
WorkspaceDep = NamedDependency[WorkspaceRef]
PrincipalDep = NamedDependency[Principal]
AccessDep = NamedDependency[Access]
