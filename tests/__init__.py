"""The project's tests, a regular package: a distribution that installs its own top-level ``tests`` package
(textfsm 2.1.1 does) must not hide ``tests.support`` from them."""
