"""Names launch_ros.actions.load_composable_nodes evaluates at import time (type annotations)."""


class LoadNode:
    class Request:
        pass

    class Response:
        pass
