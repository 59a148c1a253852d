"""Shared vocabularies of the deterministic generators: names, months, visit topics."""

from __future__ import annotations

FIRST = (
    "Maria Ana Omar Li Wei Priya James Sofia Lucas Emma Noah Aisha Diego Hana Ivan Chloe "
    "Mateo Yuki Grace Samuel Leila Tom Nina Rafael Zoe Arjun Fatima Oscar Elena Kwame Mia "
    "Jonas Amara Victor Lena Ravi Clara Hugo Ines Malik Rosa Felix Tara Ben Sara Luis Nora "
    "Adam Eva Kofi Julia Paolo Mei Ahmed Iris Marco Lucy Dev Alma"
).split()
LAST = (
    "Lopez Chen Haddad Kim Patel Johnson Rossi Silva Brown Okafor Garcia Tanaka Novak Dubois "
    "Alvarez Sato Walker Mensah Karimi Price Moreau Costa Rahman Fischer Petrov Ortiz Young "
    "Nguyen Adeyemi Larsen Bauer Singh Kowalski Morales Reyes Hughes Ito Baptiste Osei Weber "
    "Romero Sharma Murphy Lindqvist Abbas Ferreira Nakamura Olsen Diaz Hoffman"
).split()
MONTHS = ("January February March April May June July August September October November December").split()
REASONS = (
    "a persistent cough",
    "knee pain",
    "a follow-up visit",
    "a rash on my arm",
    "back pain",
    "a flu shot",
    "high blood pressure",
    "headaches",
    "a sore throat",
    "an annual physical",
    "ear pain",
    "a blood test",
    "dizziness",
    "allergy symptoms",
    "a sprained ankle",
    "chest tightness",
    "a prescription refill",
    "stomach pain",
    "trouble sleeping",
    "a skin check",
    "shoulder pain",
    "a fever",
    "an eye infection",
    "a diabetes check",
    "a vaccination",
    "heartburn",
    "a wrist injury",
    "migraines",
    "a mole check",
    "shortness of breath",
    "a physical for work",
    "joint swelling",
    "a lingering cold",
    "a tetanus shot",
    "hip pain",
    "nausea",
    "a cholesterol check",
    "a burn on my hand",
)

__all__ = ["FIRST", "LAST", "MONTHS", "REASONS"]
