# Benchmark DAG: a chain of trivial steps, each waiting for the one before.
# Its wall time is mostly scheduling and status-check latency.
STEPS = int(config.get("steps", 6))


rule all:
    input:
        f"chain/step{STEPS}.txt",
    localrule: True


rule first:
    output:
        "chain/step1.txt",
    shell:
        "echo 1 > {output}"


rule step:
    input:
        lambda wildcards: f"chain/step{int(wildcards.n) - 1}.txt",
    output:
        "chain/step{n}.txt",
    wildcard_constraints:
        n="[2-9]|[1-9][0-9]+",
    shell:
        "cat {input} > {output}; echo {wildcards.n} >> {output}"
