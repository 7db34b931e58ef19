"""Assessment: from evidence and answers to verdicts and security levels.

The requirement catalog (IEC 62443-3-3 SRs, 4-2 CRs) and SL vectors, profiles (which checks, which
parameters, which SL-T), the pure evaluation of one asset's evidence, the scoring of requirement rows
and SL-A, answers (attestations) and the questionnaire that asks for them, and waivers.
"""
