"""Being written this session (issue #10): the recall lab, a section of tabs.gradients."""


def section(page) -> None:
    return None
