# Benchmark DAG: a scatter of independent trivial jobs, then one gather.
WIDTH = int(config.get("width", 20))


rule all:
    input:
        "scatter/gathered.txt",
    localrule: True


rule part:
    output:
        "scatter/part{i}.txt",
    shell:
        "echo {wildcards.i} > {output}"


rule gather:
    input:
        expand("scatter/part{i}.txt", i=range(1, WIDTH + 1)),
    output:
        "scatter/gathered.txt",
    shell:
        "cat {input} > {output}"
