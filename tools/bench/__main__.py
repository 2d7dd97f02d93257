"""``python -m tools.bench [ARGS]``: the speed benchmark (:mod:`.speed`);
``python -m tools.bench aggregate [ARGS]``: the aggregation benchmark (:mod:`.aggregate`);
``python -m tools.bench stream [ARGS]``: streamed retrieval against a Flat index (:mod:`.stream`);
``python -m tools.bench gpu [ARGS]``: the GPU check (:mod:`.gpu`; toy sizes on a CPU);
``python -m tools.bench scale --fractions 0.003,0.01,0.03``: the scale rehearsal (:mod:`.scale`)."""

import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "aggregate":
        from tools.bench import aggregate

        return aggregate.main(argv[1:])
    if argv and argv[0] == "gpu":
        from tools.bench import gpu

        return gpu.main(argv[1:])
    if argv and argv[0] == "scale":
        from tools.bench import scale

        return scale.main(argv[1:])
    if argv and argv[0] == "stream":
        from tools.bench import stream

        return stream.main(argv[1:])
    if argv and argv[0] == "speed":
        argv = argv[1:]
    from tools.bench import speed

    return speed.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
